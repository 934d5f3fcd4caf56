namespace Memo.Node.Hosting;

/// <summary>
/// A node's data folder (<c>--data</c>): the SQLite database, the node's key, and a lock file that keeps a
/// second node process from opening the same folder (two writers would corrupt each other's view). On Unix a
/// folder created here is mode 0700 and the lock file 0600: the folder holds the node's private key and every
/// stored value, which are no other local user's business. A folder that already exists keeps its mode (an
/// operator may have prepared it); the files in it are owner-only anyway.
/// </summary>
public sealed class DataFolder : IDisposable
{
    private readonly FileStream _lock;

    private DataFolder(string path, FileStream lockFile)
    {
        Path = path;
        _lock = lockFile;
    }

    /// <summary>The mode of a data folder this node creates (Unix): rwx for its owner only.</summary>
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The folder's absolute path.</summary>
    public string Path { get; }

    /// <summary>Creates the folder if needed and takes its lock; throws <see cref="DataFolderInUseException"/> when another process holds it.</summary>
    public static DataFolder Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(full);
        }
        else
        {
            Directory.CreateDirectory(full, OwnerOnlyDirectory);
        }
        var lockPath = System.IO.Path.Combine(full, "LOCK");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            var stream = new FileStream(lockPath, options);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
            stream.Write(pid);
            stream.Flush();
            return new DataFolder(full, stream);
        }
        catch (IOException e)
        {
            throw new DataFolderInUseException($"The data folder {full} is in use by another Memo node (lock file {lockPath}).", e);
        }
    }

    /// <summary>A file inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();
}
