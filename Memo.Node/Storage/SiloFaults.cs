namespace Memo.Node.Storage;

/// <summary>
/// TEST-ONLY deliberate bugs in <see cref="SqliteSilo"/>, to prove the power-loss tests catch them. Off by default;
/// production code never sets them (<see cref="SqliteSilo.PlantedFaults"/> is internal).
/// </summary>
[Flags]
internal enum SiloFaults
{
    /// <summary>A correct silo.</summary>
    None = 0,

    /// <summary>
    /// The writer runs with <c>PRAGMA synchronous = OFF</c> whatever the options say: a commit is acknowledged once
    /// SQLite has handed its pages to the OS, before (and without) any fsync, so power loss can take back what was
    /// acknowledged. SIGKILL cannot show it (the page cache survives the process).
    /// </summary>
    AcknowledgeBeforeFsync = 1 << 0,

    /// <summary>
    /// Copy files (block copies above <see cref="SqliteSiloOptions.CopyFileThreshold"/>) are written without fsyncing
    /// them or their folders, while the rows naming them are committed correctly: power loss can leave an acknowledged
    /// row naming a file that is empty, torn or gone.
    /// </summary>
    CopyFilesBeforeFsync = 1 << 1,
}
