using System.Globalization;

namespace Memo.Testing.Nemesis;

/// <summary>
/// Finds which process dialled a loopback TCP connection, from Linux's <c>/proc</c>: the connection's client end is a
/// row of <c>/proc/net/tcp</c> (or <c>tcp6</c>, for dual-stack sockets) with its inode, and the process holding a
/// descriptor on <c>socket:[inode]</c> owns it. This is how a node's proxy tells its peers apart: Akka and the TCP peer
/// transport dial from ephemeral ports, and their addresses are the same for every peer, so neither names the dialler.
/// </summary>
public static class SocketOwners
{
    /// <summary>The process, among <paramref name="candidates"/>, whose socket is the client end of the connection from
    /// <paramref name="clientPort"/> to <paramref name="serverPort"/>; null when none holds it (another process, or the
    /// socket closed meanwhile).</summary>
    public static int? FindDialler(int clientPort, int serverPort, IEnumerable<int> candidates)
    {
        var inode = Inode("/proc/net/tcp", clientPort, serverPort) ?? Inode("/proc/net/tcp6", clientPort, serverPort);
        if (inode is null)
        {
            return null;
        }
        var target = $"socket:[{inode}]";
        foreach (var pid in candidates)
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                {
                    try
                    {
                        if (new FileInfo(fd).LinkTarget == target)
                        {
                            return pid;
                        }
                    }
                    catch (IOException)
                    {
                        // The descriptor closed while listing.
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process exited while listing.
            }
        }
        return null;
    }

    // Rows look like "  3: 0100007F:9C40 0100007F:5BA0 01 ... uid timeout inode ...": local and remote address:port in
    // hex, the inode tenth.
    private static string? Inode(string table, int localPort, int remotePort)
    {
        if (!File.Exists(table))
        {
            return null;
        }
        foreach (var line in File.ReadLines(table).Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 9 && Port(fields[1]) == localPort && Port(fields[2]) == remotePort && fields[9] != "0")
            {
                return fields[9];
            }
        }
        return null;
    }

    private static int Port(string hexAddress) =>
        int.Parse(hexAddress.AsSpan(hexAddress.LastIndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
