namespace Memo.Node.Storage;

/// <summary>
/// The file system operations that make a block copy file durable (<see cref="CopyFiles"/>): the seam a power-loss
/// test replaces to model a disk that loses what was not fsynced. Reads and listings do not go through it.
/// </summary>
internal interface ICopyFileDisk
{
    /// <summary>Creates a folder (not yet durable: its parent must be flushed).</summary>
    void CreateFolder(string path);

    /// <summary>Creates <paramref name="path"/> (it must not exist), writes <paramref name="data"/>, and fsyncs the file when <paramref name="flush"/>.</summary>
    void WriteNewFile(string path, ReadOnlySpan<byte> data, bool flush);

    /// <summary>
    /// Gives the file <paramref name="sparePath"/> (a copy file no row names any more) the new name
    /// <paramref name="path"/> (which must not exist), replaces its content with <paramref name="data"/>, and fsyncs the
    /// file when <paramref name="flush"/>: what <see cref="WriteNewFile"/> does, on an inode the file system already has
    /// (no inode search on create, no block allocation, no unlink of the spare later). The new name is durable only once
    /// its folder is flushed, like a new file's.
    /// </summary>
    /// <exception cref="FileNotFoundException">The spare is gone (nothing was changed).</exception>
    void ReuseFile(string sparePath, string path, ReadOnlySpan<byte> data, bool flush);

    /// <summary>fsyncs a folder, making the names created and removed in it durable.</summary>
    void FlushFolder(string path);

    /// <summary>Removes a file; no effect when it is absent.</summary>
    void DeleteFile(string path);
}
