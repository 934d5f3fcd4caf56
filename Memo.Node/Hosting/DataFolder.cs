namespace Memo.Node.Hosting;

/// <summary>
/// A node's data folder (<c>--data</c>): the SQLite database, the node's key, and a lock file that keeps a
/// second node process from opening the same folder (two writers would corrupt each other's view).
/// </summary>
public sealed class DataFolder : IDisposable
{
    private readonly FileStream _lock;

    private DataFolder(string path, FileStream lockFile)
    {
        Path = path;
        _lock = lockFile;
    }

    /// <summary>The folder's absolute path.</summary>
    public string Path { get; }

    /// <summary>Creates the folder if needed and takes its lock; throws <see cref="DataFolderInUseException"/> when another process holds it.</summary>
    public static DataFolder Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(full);
        var lockPath = System.IO.Path.Combine(full, "LOCK");
        try
        {
            var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
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
