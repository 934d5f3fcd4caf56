// Design note: SqliteSilo, the node's embedded durable storage.
//
// Model. One SQLite database per node (WAL journal). Everything that changes it goes through ONE writer: a
// dedicated thread that owns the only read-write connection. CommitAsync validates a batch and enqueues it on a
// bounded channel (back-pressure when full); the writer takes everything queued (up to MaxBatchOperations /
// MaxBatchBytes), applies the batches in queue order inside ONE transaction, commits it (one fsync of the WAL
// with synchronous=FULL) and only then completes the batches' tasks, in queue order. Many shards' Raft appends
// therefore share each fsync ("group commit"), which is what makes per-batch durability affordable.
//
// Deferred flushes. A batch marked DeferFlush (a replica's applied state, which its durable log can rebuild) does not
// need a flush of its own: a group made only of such batches commits with synchronous=NORMAL (visible, survives a
// process crash, no fsync) and becomes durable with the next flushed commit, since the WAL is one file written in
// order. A power loss can therefore only lose a suffix of commits, and only deferred ones. Deferred batches that end
// a group which flushes anyway are held back for the next group (SplitDeferredTail), so that fsync carries fewer pages.
//
// FIFO durability. The queue is FIFO (a full channel also admits waiting writers in order), and a group is
// a prefix of the queue committed atomically, so if CommitAsync(a) was called before CommitAsync(b), b cannot be
// durable unless a is: a Raft replica may acknowledge entry n+1 knowing entry n is on disk.
//
// Why savepoints. Group commit must not couple unrelated batches: if one batch fails (a constraint violation, for
// instance a value over SQLite's length limit, which Microsoft.Data.Sqlite silently binds as NULL into a NOT NULL
// column; an I/O fault; a fault injected by a test), only that batch fails. Each batch runs inside
// SAVEPOINT ... RELEASE; on failure ROLLBACK TO undoes exactly that batch's partial writes and the rest of the
// group still commits, so batches stay atomic without one transaction per batch. Failures are rare, so the writer
// first applies a group with no savepoint at all and falls back to the savepoint path only when a write fails
// (rolling the attempt back whole): savepoints were a third of the statements of a Raft write. Some errors (I/O, disk full)
// make SQLite abort the whole transaction; the writer then notices the transaction is gone and re-applies the
// group's other batches in a new one. A failing COMMIT fails every batch of its group with that exception; the
// silo keeps serving as long as SQLite does.
//
// Reads. A small pool of read-only connections serves reads concurrently with the writer (WAL readers do not
// block the writer nor each other). Every read statement is its own read transaction, started after the commits
// whose tasks have completed, so a read sees every completed commit. Statements are prepared once per connection.
//
// Copy files. A block copy above SqliteSiloOptions.CopyFileThreshold is a file of its own, written and fsynced by
// dedicated threads before its batch's transaction commits the row naming it, unlinked after the commit that replaces
// or removes that row, swept at open when no row names it (CopyFiles.cs has the design note). The writer waits for a
// batch's files when the batch reaches the head of the queue, so FIFO durability holds for batches with copy files.
//
// Formats. The schema is versioned with PRAGMA user_version and marked as a Memo silo with
// PRAGMA application_id; a newer version or a foreign database is refused untouched (SiloVersionException), a
// damaged or non-database file gives SiloCorruptException. Log indexes and terms are stored as signed 64-bit
// integers (they stay below 2^63). Entry keys are TEXT in UTF-8 with BINARY collation: memcmp of UTF-8, i.e. code
// point order, the order EntryKeyOrder defines.

using System.Threading.Channels;
using Memo.Protocol.Blocks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Node.Storage;

/// <summary>
/// The embedded default <see cref="ISilo"/>: one SQLite database in WAL mode with a single group-committing
/// writer and a pool of read connections. Open with <see cref="OpenAsync"/>; dispose to close.
/// </summary>
/// <remarks>
/// Cancelling <see cref="CommitAsync"/> while the batch waits for room in the queue drops the batch; once it is
/// queued, cancellation only stops the wait: the batch may still become durable. Reads run synchronously on
/// the calling thread once a read connection is free.
/// </remarks>
public sealed partial class SqliteSilo : ISilo
{
    /// <summary>The schema version this build creates, reads and writes.</summary>
    public const int SchemaVersion = 4;

    /// <summary>Written to <c>PRAGMA application_id</c>: ASCII "MEMO".</summary>
    internal const int ApplicationId = 0x4D454D4F;

    private static readonly Lazy<bool> _sqliteInitialized = new(
        () =>
        {
            SQLitePCL.Batteries_V2.Init();
            return true;
        },
        LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly SqliteSiloOptions _options;
    // SqliteSiloOptions.WriterSpin in Stopwatch ticks, computed once rather than at every idle wait of the writer.
    private readonly long _writerSpinTicks;
    private readonly ILogger _logger;
    private readonly Channel<PendingCommit> _queue;
    private readonly Channel<SqliteReadCommands> _readers;
    private readonly SqliteWriteCommands _writer;
    // The copies stored outside their rows (above SqliteSiloOptions.CopyFileThreshold); see CopyFiles.
    private readonly CopyFiles _copyFiles;
    // Writer thread only: whether the writer connection's commits flush now (PRAGMA synchronous FULL, as opened).
    private bool _flushingOnCommit = true;
    private readonly Thread _writerThread;
    // Held by whoever uses the writer connection: the writer thread for each group it takes and commits, or a caller
    // committing inline while the writer is idle (TryCommitInline). Taking the group under it keeps the FIFO promise.
    private readonly Lock _writeGate = new();
    // Deferred batches held back from a flushed group, committed first in the writer's next group (under _writeGate).
    private readonly List<PendingCommit> _deferredTail = [];
    // Set under _writeGate once the writer thread stopped: no inline commit may touch the connection after that.
    private bool _inlineClosed;
    // When commits last showed concurrency (Environment.TickCount64); inline commits wait InlinePauseMs after it.
    private long _lastContention = long.MinValue / 2;
    private const long InlinePauseMs = 200;
    private readonly TaskCompletionSource _writerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private static readonly AsyncLocal<SiloFaults> _ambientPlantedFaults = new();
    // Read once, when the silo opens (in the opener's asynchronous flow): the writer thread does not share that flow.
    private readonly SiloFaults _plantedFaults = PlantedFaults;
    private Func<SiloOperation, Exception?>? _faultInjector;
    private long _transactions;
    private int _disposeStarted;

    private SqliteSilo(SqliteSiloOptions options, string filePath, ILogger logger, SqliteWriteCommands writer, IReadOnlyList<SqliteReadCommands> readers, CopyFiles copyFiles)
    {
        _options = options;
        _writerSpinTicks = (long)(options.WriterSpin.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        FilePath = filePath;
        _logger = logger;
        _writer = writer;
        _copyFiles = copyFiles;
        _queue = Channel.CreateBounded<PendingCommit>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
        _readers = Channel.CreateBounded<SqliteReadCommands>(new BoundedChannelOptions(readers.Count) { FullMode = BoundedChannelFullMode.Wait });
        foreach (var reader in readers)
        {
            _readers.Writer.TryWrite(reader);
        }
        // A dedicated thread: the writer blocks in fsync, which would otherwise pin a thread-pool thread.
        _writerThread = new Thread(RunWriter) { IsBackground = true, Name = "memo-silo-writer" };
        _writerThread.Start();
        _copyFileWriters = StartCopyFileWriters();
    }

    /// <summary>The full path of the database file.</summary>
    public string FilePath { get; }

    /// <summary>Transactions committed so far (each carries one or more batches): how well group commit groups.</summary>
    internal long CommittedTransactions => Interlocked.Read(ref _transactions);

    /// <summary>
    /// Test seam: called on the writer thread before each operation is applied; a returned exception is thrown
    /// there, as an I/O fault in the middle of a batch would be. The callback may also block to hold the writer.
    /// </summary>
    internal Func<SiloOperation, Exception?>? FaultInjector
    {
        get => Volatile.Read(ref _faultInjector);
        set => Volatile.Write(ref _faultInjector, value);
    }

    /// <summary>
    /// Test seam: planted bugs for the silos opened from this asynchronous flow from now on. An
    /// <see cref="AsyncLocal{T}"/>, so a test can reach the silo a node opens inside itself while tests running in
    /// parallel keep correct silos.
    /// </summary>
    internal static SiloFaults PlantedFaults
    {
        get => _ambientPlantedFaults.Value;
        set => _ambientPlantedFaults.Value = value;
    }

    /// <summary>
    /// Test seam, for a <see cref="FaultInjector"/> callback only (it runs on the writer thread): rolls back the
    /// open transaction, as SQLite itself does after an I/O error or a full disk.
    /// </summary>
    internal void AbortTransactionForTesting() => _writer.TryRollback();

    /// <summary>Test seam: sets a <c>sqlite3_limit</c> of the writer connection, to provoke genuine SQLite errors.</summary>
    internal void SetWriterLimitForTesting(int limitId, int value) => _writer.SetLimit(limitId, value);

    /// <summary>
    /// Opens (creating when missing) the database <c>DataDirectory/FileName</c> and starts the writer.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    /// <exception cref="SiloCorruptException">The file is not a SQLite database or is damaged.</exception>
    /// <exception cref="SiloVersionException">The file has a newer schema or is not a Memo silo.</exception>
    public static Task<SqliteSilo> OpenAsync(SqliteSiloOptions options, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid SqliteSiloOptions: " + string.Join(" ", errors), nameof(options));
        }
        EnsureSqliteInitialized();
        return Task.Run(() => Open(options, logger ?? NullLogger.Instance, cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateBatch(batch);
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }
        var pending = new PendingCommit(batch);
        // Copies stored in files are written (and fsynced) by the copy file writer threads, in parallel with other
        // batches' files and with the writer: the batch is queued at once, in call order, and the writer waits for its
        // files (if still being written) when the batch reaches the head of the queue.
        StartCopyFileWrites(pending);
        if (pending.FileIds is null && TryCommitInline(pending))
        {
            return pending.Completion.Task;
        }
        if (_queue.Writer.TryWrite(pending))
        {
            return WaitForDurability(pending, cancellationToken);
        }
        return EnqueueSlowAsync(pending, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="SiloCorruptException">The copy file the block's row names is missing or does not hold the row's length.</exception>
    public ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, CancellationToken cancellationToken = default)
    {
        var stored = ReadAsync(address, static (reader, a) => reader.ReadBlock(a), cancellationToken);
        if (stored.IsCompletedSuccessfully && !stored.Result.InFile)
        {
            return new ValueTask<byte[]?>(stored.Result.Data);
        }
        return ReadBlockFromFileAsync(stored, address, headOnly: false, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A copy in a file gives its head (<see cref="BlockHead"/>): a few small reads instead of the whole file.</remarks>
    /// <exception cref="SiloCorruptException">The copy file the block's row names is missing or does not hold the row's length.</exception>
    public ValueTask<byte[]?> ReadBlockHeadAsync(BlockAddress address, CancellationToken cancellationToken = default)
    {
        var stored = ReadAsync(address, static (reader, a) => reader.ReadBlock(a), cancellationToken);
        if (stored.IsCompletedSuccessfully && !stored.Result.InFile)
        {
            return new ValueTask<byte[]?>(stored.Result.Data);
        }
        return ReadBlockFromFileAsync(stored, address, headOnly: true, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<BlockAddress>> ListBlockCopiesAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return ReadAsync((shard, after, limit), static (reader, s) => reader.ListBlockCopies(s.shard, s.after, s.limit), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadBlockFragmentAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        ReadAsync(address, static (reader, a) => reader.ReadBlockFragment(a), cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloFragment>> ListBlockFragmentsAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return ReadAsync((shard, after, limit), static (reader, s) => reader.ListBlockFragments(s.shard, s.after, s.limit), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> IsBlockRemovedAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        ReadAsync(address, static (reader, a) => reader.IsRemoved(a), cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateKey(key, nameof(key));
        return ReadAsync(key, static (reader, k) => reader.ReadEntry(k), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesAsync(string prefix, string? after, int limit, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateScan(prefix, after, limit);
        var (lower, exclusive) = SiloArguments.ScanStart(prefix, after);
        return ScanFrom(prefix, lower, exclusive, limit, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesPastAsync(string prefix, string skipped, int limit, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateScan(prefix, skipped, limit);
        if (SiloArguments.ScanStartPast(prefix, skipped) is not var (lower, exclusive))
        {
            ThrowIfDisposed();
            return new ValueTask<IReadOnlyList<SiloEntry>>(Array.Empty<SiloEntry>());
        }
        return ScanFrom(prefix, lower, exclusive, limit, cancellationToken);
    }

    private ValueTask<IReadOnlyList<SiloEntry>> ScanFrom(string prefix, string lower, bool exclusive, int limit, CancellationToken cancellationToken)
    {
        var upper = EntryKeyOrder.PrefixUpperBound(prefix);
        if (limit == 0 || (upper is not null && EntryKeyOrder.Compare(lower, upper) >= 0))
        {
            ThrowIfDisposed();
            return new ValueTask<IReadOnlyList<SiloEntry>>(Array.Empty<SiloEntry>());
        }
        return ReadAsync((lower, exclusive, upper, limit), static (reader, s) => reader.Scan(s.lower, s.exclusive, s.upper, s.limit), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloShardRecord>> ScanShardAsync(ShardId shard, SiloShardPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateShardScan(after, limit);
        return ReadAsync((shard, after, limit), static (reader, s) => reader.ScanShard(s.shard, s.after, s.limit), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadMetaAsync(string name, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateKey(name, nameof(name));
        return ReadAsync(name, static (reader, n) => reader.ReadMeta(n), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadRaftStateAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        ReadAsync(shard, static (reader, s) => reader.ReadRaftState(s), cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloLogEntry>> ReadLogAsync(ShardId shard, LogIndex from, LogIndex toExclusive, CancellationToken cancellationToken = default)
    {
        // Stored indexes are at most 2^63-1; bounds beyond that are clamped so "up to ulong.MaxValue" means "to the end".
        if (toExclusive == LogIndex.Zero || from >= toExclusive || from.Value > SiloArguments.MaxLogValue)
        {
            ThrowIfDisposed();
            return new ValueTask<IReadOnlyList<SiloLogEntry>>(Array.Empty<SiloLogEntry>());
        }
        var range = (shard, from: (long)from.Value, to: SiloArguments.Clamp(toExclusive.Value - 1));
        return ReadAsync(range, static (reader, r) => reader.ReadLog(r.shard, r.from, r.to), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<SiloLogBounds> ReadLogBoundsAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        ReadAsync(shard, static (reader, s) => reader.ReadLogBounds(s), cancellationToken);

    /// <inheritdoc />
    public ValueTask<SiloShardUsage> MeasureShardAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        ReadAsync(shard, static (reader, s) => reader.MeasureShard(s), cancellationToken);

    /// <summary>
    /// Stops accepting commits, commits every batch already queued, then closes the connections. Batches still
    /// waiting for room in a full queue fail with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            await _closed.Task.ConfigureAwait(false);
            return;
        }
        _queue.Writer.TryComplete();
        await _writerStopped.Task.ConfigureAwait(false);
        await StopCopyFileWritersAsync().ConfigureAwait(false);
        // Take every read connection back (waiting for reads in flight), then close the writer last: the last
        // connection to close checkpoints the WAL into the database file and removes it.
        for (var i = 0; i < _options.ReadConnections; i++)
        {
            var reader = await _readers.Reader.ReadAsync().ConfigureAwait(false);
            reader.Dispose();
        }
        _readers.Writer.TryComplete();
        lock (_writeGate)
        {
            _inlineClosed = true;
        }
        _writer.Dispose();
        Log.Closed(_logger, FilePath, CommittedTransactions);
        _closed.TrySetResult();
    }

    /// <summary>Calls <c>SQLitePCL.Batteries_V2.Init()</c> once per process.</summary>
    internal static void EnsureSqliteInitialized() => _ = _sqliteInitialized.Value;

    /// <summary>Creates a command with its parameters and prepares it now, so a schema mismatch shows at open.</summary>
    internal static SqliteCommand PrepareCommand(SqliteConnection connection, string sql, (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }
        command.Prepare();
        return command;
    }

    private async Task EnqueueSlowAsync(PendingCommit pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex) when (ex.InnerException is not null)
        {
            DiscardCopyFiles(pending);
            throw new InvalidOperationException($"The writer of silo '{FilePath}' has stopped; the batch was not applied.", ex.InnerException);
        }
        catch (ChannelClosedException)
        {
            DiscardCopyFiles(pending);
            throw new ObjectDisposedException(nameof(SqliteSilo), "The silo is closing or closed; the batch was not applied.");
        }
        catch (OperationCanceledException)
        {
            DiscardCopyFiles(pending);
            throw;
        }
        await WaitForDurability(pending, cancellationToken).ConfigureAwait(false);
    }

    private static Task WaitForDurability(PendingCommit pending, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? pending.Completion.Task.WaitAsync(cancellationToken) : pending.Completion.Task;

    private ValueTask<TResult> ReadAsync<TState, TResult>(TState state, Func<SqliteReadCommands, TState, TResult> read, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (_readers.Reader.TryRead(out var reader))
        {
            return new ValueTask<TResult>(Read(reader, state, read));
        }
        return ReadSlowAsync(state, read, cancellationToken);
    }

    private async ValueTask<TResult> ReadSlowAsync<TState, TResult>(TState state, Func<SqliteReadCommands, TState, TResult> read, CancellationToken cancellationToken)
    {
        SqliteReadCommands reader;
        try
        {
            reader = await _readers.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(SqliteSilo));
        }
        return Read(reader, state, read);
    }

    private TResult Read<TState, TResult>(SqliteReadCommands reader, TState state, Func<SqliteReadCommands, TState, TResult> read)
    {
        try
        {
            return read(reader, state);
        }
        catch (SqliteException ex) when (IsCorruption(ex))
        {
            throw new SiloCorruptException(FilePath, ex.Message, ex);
        }
        finally
        {
            _readers.Writer.TryWrite(reader);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposeStarted) != 0, this);

    private static bool IsCorruption(SqliteException exception) =>
        // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26); extended codes keep the primary code in the low byte.
        (exception.SqliteErrorCode & 0xFF) is 11 or 26;

    /// <summary>A queued batch and the task that completes when it is durable (or failed).</summary>
    private sealed class PendingCommit(SiloBatch batch)
    {
        public SiloBatch Batch { get; } = batch;

        // Counted as at least one operation so a flood of empty batches (flush barriers) stays bounded too.
        public int Operations { get; } = Math.Max(1, batch.Operations.Count);

        public long Bytes { get; } = batch.ApproximateBytes;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set when applying the batch failed; the task fails with it when the group completes.</summary>
        public Exception? Error { get; set; }

        /// <summary>
        /// Per operation, the id of the copy file written for it (0: stored in its row); null when the batch writes no
        /// copy file.
        /// </summary>
        public long[]? FileIds { get; set; }

        /// <summary>Completes once the batch's copy files are durable (or failed to be written).</summary>
        public Task FilesWritten { get; set; } = Task.CompletedTask;

        /// <summary>Completes <see cref="FilesWritten"/> for a batch with copy files (set with <see cref="FileIds"/>).</summary>
        public TaskCompletionSource? FilesCompletion { get; set; }

        /// <summary>
        /// Set when the batch's COMMIT failed: whether it reached the disk is unknown, so its new copy files stay
        /// (the sweep at the next open removes them if no row names them).
        /// </summary>
        public bool CommitUncertain { get; set; }

        /// <summary>The range of the writer's obsolete-file list that applying this batch added (valid once it committed).</summary>
        public int ObsoleteFrom { get; set; }

        /// <summary>See <see cref="ObsoleteFrom"/>.</summary>
        public int ObsoleteTo { get; set; }
    }
}
