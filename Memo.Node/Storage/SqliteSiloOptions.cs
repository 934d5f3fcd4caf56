namespace Memo.Node.Storage;

/// <summary>Settings of a <see cref="SqliteSilo"/>, fixed when it opens. Check them with <see cref="Validate"/>.</summary>
public sealed record SqliteSiloOptions
{
    /// <summary>The folder holding the database (created when missing).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The database file name inside <see cref="DataDirectory"/>; SQLite adds <c>-wal</c> and <c>-shm</c> files beside it.</summary>
    public string FileName { get; init; } = "memo.db";

    /// <summary>The flush level of each commit; <see cref="SqliteSynchronousMode.Full"/> survives power loss.</summary>
    public SqliteSynchronousMode Synchronous { get; init; } = SqliteSynchronousMode.Full;

    /// <summary>The most operations group-committed in one transaction (a larger single batch still commits alone).</summary>
    public int MaxBatchOperations { get; init; } = 10_000;

    /// <summary>The most payload bytes group-committed in one transaction (a larger single batch still commits alone).</summary>
    public long MaxBatchBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Read-only connections serving reads concurrently with the writer; more reads wait for a free one.</summary>
    public int ReadConnections { get; init; } = 4;

    /// <summary>Batches waiting for the writer; further commits wait for room (back-pressure), in call order.</summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>
    /// Whether a commit that finds nothing queued and the writer idle is committed on the caller's thread (which then
    /// blocks for it) instead of by the writer thread: two thread hand-offs fewer for a lone batch. Off by default: it
    /// lowers latency at one caller but costs CPU under concurrency (see SqliteSilo.TryCommitInline).
    /// </summary>
    public bool InlineCommits { get; init; }

    /// <summary>
    /// How long the writer thread, once its queue is empty, keeps polling it before it sleeps. A sleeping writer is
    /// woken by the next commit through the kernel, which on a virtual machine whose other cores idle (halted) took
    /// about 50 µs here: a fifth of a lone put's time on one node. Polling spends that core's time instead; a busy
    /// writer never polls (its queue is not empty when a transaction ends). Zero: sleep at once.
    /// </summary>
    public TimeSpan WriterSpin { get; init; }

    /// <summary>
    /// Pages the write-ahead log may hold before a commit checkpoints it into the database file
    /// (<c>PRAGMA wal_autocheckpoint</c>, SQLite's default 1,000, about 4 MiB). A checkpoint copies each page once
    /// however often the log rewrote it since the last one, and ends with an fsync of the database file: a put dirties
    /// its shard's log tail and state pages, which one checkpoint per 1,000 pages copied again and again. Measured at 64
    /// callers on one node: 22.4 → 16.9 KiB written to disk per 256-byte put with 10,000 pages (about 40 MiB of log at
    /// most; the file keeps that size between checkpoints, and closing the silo folds it in and removes it).
    /// </summary>
    public int WalCheckpointPages { get; init; } = 10_000;

    /// <summary>The SQLite page cache of each connection, in KiB.</summary>
    public int PageCacheKiB { get; init; } = 8 * 1024;

    /// <summary>
    /// Bytes of the database file each connection maps into memory (<c>PRAGMA mmap_size</c>). Off (0) by default:
    /// measured under puts at concurrency 64, mapping cost more (remaps as the file grows, page faults) than the
    /// read() calls it saves.
    /// </summary>
    public long MmapBytes { get; init; } = 0;

    /// <summary>How long a connection waits for a lock held by another process (a backup tool, an inspector).</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <c>PRAGMA quick_check</c> when opening, so damage inside the file is found at start-up rather than on
    /// the read that meets it. Costs a pass over the whole file.
    /// </summary>
    public bool CheckIntegrityOnOpen { get; init; }

    /// <summary>
    /// A block copy (<see cref="SiloBatch.PutBlockCopy"/>) whose data is longer than this many bytes is stored in a file
    /// of its own beside the database (<c>&lt;FileName&gt;-blocks/</c>), its row naming the file, rather than inside
    /// the row: SQLite writes a row twice (WAL, then checkpoint) from its one writer thread, while the files are written
    /// once, off that thread and in parallel (docs/performance.md, "Large values"). Null or 0: every copy stays
    /// in its row. Copies already stored either way stay readable whatever this says later.
    /// </summary>
    public int? CopyFileThreshold { get; init; } = 64 * 1024;

    /// <summary>
    /// Dedicated threads writing copy files (each blocks in the file's and its folder's fsync, which on the thread pool
    /// would starve it: the pool starts with one thread per core). More copy files wait for a free writer.
    /// </summary>
    public int CopyFileWriters { get; init; } = 4;

    /// <summary>
    /// At most this many copy files whose rows were replaced or removed are kept, instead of unlinked, for the next copy
    /// files to be written through (renamed and overwritten: no inode search and block allocation on create, no unlink;
    /// docs/performance.md, "1 MiB on three nodes"). 0: every such file is unlinked. Spares are files no row names, so
    /// the disk they hold is at most this many copies, and a crash leaves them to the sweep at open.
    /// </summary>
    public int CopyFileSpares { get; init; } = 8;

    /// <summary>Every problem with these settings (empty when they are usable).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            errors.Add("DataDirectory is empty.");
        }
        if (string.IsNullOrWhiteSpace(FileName) || Path.GetFileName(FileName) != FileName || FileName.StartsWith(':'))
        {
            errors.Add($"FileName '{FileName}' must be a plain file name (no folder, not a SQLite special name).");
        }
        if (!Enum.IsDefined(Synchronous))
        {
            errors.Add($"Synchronous {(int)Synchronous} is not a known mode (Normal or Full).");
        }
        Range(errors, nameof(MaxBatchOperations), MaxBatchOperations, 1, 1_000_000);
        Range(errors, nameof(MaxBatchBytes), MaxBatchBytes, 1024, 1024L * 1024 * 1024);
        Range(errors, nameof(ReadConnections), ReadConnections, 1, 64);
        Range(errors, nameof(QueueCapacity), QueueCapacity, 1, 1_000_000);
        Range(errors, nameof(PageCacheKiB), PageCacheKiB, 64, 4 * 1024 * 1024);
        Range(errors, nameof(WalCheckpointPages), WalCheckpointPages, 1, 1_000_000);
        Range(errors, nameof(CopyFileWriters), CopyFileWriters, 1, 64);
        Range(errors, nameof(CopyFileSpares), CopyFileSpares, 0, 1024);
        if (CopyFileThreshold is < 0)
        {
            errors.Add($"{nameof(CopyFileThreshold)} cannot be negative, not {CopyFileThreshold}.");
        }
        if (MmapBytes < 0)
        {
            errors.Add($"{nameof(MmapBytes)} cannot be negative, not {MmapBytes}.");
        }
        if (BusyTimeout < TimeSpan.FromMilliseconds(1) || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"BusyTimeout {BusyTimeout} must be between 1 ms and 10 minutes.");
        }
        return errors;
    }

    private static void Range(List<string> errors, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{name} {value} must be between {min} and {max}.");
        }
    }
}
