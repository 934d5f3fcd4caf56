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
}
