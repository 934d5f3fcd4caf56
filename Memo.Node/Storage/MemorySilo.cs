using System.Collections.Immutable;
using Memo.Protocol.Blocks;

namespace Memo.Node.Storage;

/// <summary>
/// An in-memory <see cref="ISilo"/> for tests and the simulator, with the same semantics as
/// <see cref="SqliteSilo"/> (it passes the same contract suite). Everything is "durable" as soon as
/// <see cref="CommitAsync"/> returns, and lost with the instance.
/// </summary>
/// <remarks>
/// The whole content is one immutable snapshot. A commit builds the next snapshot from the current one under a
/// lock and publishes it with one reference swap, so a batch is atomic (a failure discards the half-built
/// snapshot), commits are ordered by the lock (FIFO in call order), and reads never lock. Byte arrays are copied
/// in and out, so callers cannot alter stored values through an array they keep.
/// </remarks>
public sealed class MemorySilo : ISilo
{
    private static readonly IComparer<SiloEntry> _entryOrder = Comparer<SiloEntry>.Create((a, b) => EntryKeyOrder.Compare(a.Key, b.Key));
    private static readonly IComparer<SiloLogEntry> _logOrder = Comparer<SiloLogEntry>.Create((a, b) => a.Index.CompareTo(b.Index));

    private readonly Lock _commitLock = new();
    private Snapshot _current = Snapshot.Empty;
    private Func<SiloOperation, Exception?>? _faultInjector;
    private volatile bool _disposed;

    /// <summary>
    /// Test seam: called before each operation is applied; a returned exception fails the batch there, as an
    /// I/O fault in the middle of a batch would.
    /// </summary>
    internal Func<SiloOperation, Exception?>? FaultInjector
    {
        get => Volatile.Read(ref _faultInjector);
        set => Volatile.Write(ref _faultInjector, value);
    }

    /// <summary>Number of stored blocks (tests check that nothing leaks).</summary>
    internal int BlockCount => Volatile.Read(ref _current).Blocks.Count;

    /// <inheritdoc />
    public Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateBatch(batch);
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }
        lock (_commitLock)
        {
            ThrowIfDisposed();
            var next = _current;
            var injector = FaultInjector;
            try
            {
                foreach (var operation in batch.Operations)
                {
                    if (injector?.Invoke(operation) is { } fault)
                    {
                        throw fault;
                    }
                    next = next.Apply(operation);
                }
            }
            catch (Exception ex)
            {
                // The half-built snapshot is dropped: nothing of the batch is visible.
                return Task.FromException(ex);
            }
            Volatile.Write(ref _current, next);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, CancellationToken cancellationToken = default)
    {
        var snapshot = Read(cancellationToken);
        return new(snapshot.Blocks.TryGetValue(address, out var block) || snapshot.Copies.TryGetValue(address, out block) ? Copy(block.Data) : null);
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadBlockFragmentAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).Fragments.TryGetValue(address, out var fragment) ? Copy(fragment.Data) : null);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloFragment>> ListBlockFragmentsAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        IReadOnlyList<SiloFragment> fragments = Read(cancellationToken).Fragments
            .Where(f => f.Value.Shard == shard && (after is null || f.Key.CompareTo(after.Value) > 0))
            .OrderBy(f => f.Key)
            .Take(limit)
            .Select(f => new SiloFragment(f.Key, f.Value.Index))
            .ToList();
        return new(fragments);
    }

    /// <inheritdoc />
    public ValueTask<bool> IsBlockRemovedAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).Removed.ContainsKey(address));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<BlockAddress>> ListBlockCopiesAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var snapshot = Read(cancellationToken);
        IReadOnlyList<BlockAddress> addresses = snapshot.Copies
            .Where(c => c.Value.Shard == shard && (after is null || c.Key.CompareTo(after.Value) > 0))
            .Select(c => c.Key)
            .Order()
            .Take(limit)
            .ToList();
        return new(addresses);
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateKey(key, nameof(key));
        var snapshot = Read(cancellationToken);
        return new(snapshot.Entries.TryGetValue(Probe(key), out var entry) ? Copy(entry.Value) : null);
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
            Read(cancellationToken);
            return new([]);
        }
        return ScanFrom(prefix, lower, exclusive, limit, cancellationToken);
    }

    private ValueTask<IReadOnlyList<SiloEntry>> ScanFrom(string prefix, string lower, bool exclusive, int limit, CancellationToken cancellationToken)
    {
        var entries = Read(cancellationToken).Entries;
        var i = entries.IndexOf(Probe(lower));
        i = i >= 0 ? (exclusive ? i + 1 : i) : ~i;
        var result = new List<SiloEntry>();
        // Keys with the prefix are contiguous in this order, so the first key without it ends the scan.
        for (; i < entries.Count && result.Count < limit; i++)
        {
            var entry = entries[i];
            if (!entry.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                break;
            }
            result.Add(entry with { Value = Copy(entry.Value) });
        }
        return new(result);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloShardRecord>> ScanShardAsync(ShardId shard, SiloShardPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateShardScan(after, limit);
        var snapshot = Read(cancellationToken);
        var result = new List<SiloShardRecord>();
        if (limit == 0)
        {
            return new(result);
        }
        if (after is not { Key: not null })
        {
            var from = after?.Block;
            // The blocks are hashed, not ordered: sort this shard's (a snapshot is rare; tests are small).
            foreach (var (address, block) in snapshot.Blocks
                .Where(b => b.Value.Shard == shard && (from is null || b.Key.CompareTo(from.Value) > 0))
                .OrderBy(b => b.Key)
                .Take(limit))
            {
                result.Add(new SiloShardRecord(address, null, Copy(block.Data)));
            }
        }
        var afterKey = after?.Key;
        foreach (var entry in snapshot.Entries)
        {
            if (result.Count >= limit)
            {
                break;
            }
            if (entry.Shard == shard && (afterKey is null || EntryKeyOrder.Compare(entry.Key, afterKey) > 0))
            {
                result.Add(new SiloShardRecord(null, entry.Key, Copy(entry.Value)));
            }
        }
        return new(result);
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadMetaAsync(string name, CancellationToken cancellationToken = default)
    {
        SiloArguments.ValidateKey(name, nameof(name));
        var snapshot = Read(cancellationToken);
        return new(snapshot.Meta.TryGetValue(name, out var value) ? Copy(value) : null);
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadRaftStateAsync(ShardId shard, CancellationToken cancellationToken = default)
    {
        var snapshot = Read(cancellationToken);
        return new(snapshot.RaftStates.TryGetValue(shard, out var state) ? Copy(state) : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloLogEntry>> ReadLogAsync(ShardId shard, LogIndex from, LogIndex toExclusive, CancellationToken cancellationToken = default)
    {
        var snapshot = Read(cancellationToken);
        var result = new List<SiloLogEntry>();
        if (snapshot.Logs.TryGetValue(shard, out var log))
        {
            var i = log.IndexOf(LogProbe(from));
            for (i = i >= 0 ? i : ~i; i < log.Count && log[i].Index < toExclusive; i++)
            {
                result.Add(log[i] with { Data = Copy(log[i].Data) });
            }
        }
        return new(result);
    }

    /// <inheritdoc />
    public ValueTask<SiloLogBounds> ReadLogBoundsAsync(ShardId shard, CancellationToken cancellationToken = default)
    {
        var snapshot = Read(cancellationToken);
        return new(snapshot.Logs.TryGetValue(shard, out var log) && log.Count > 0
            ? new SiloLogBounds(log.Min!.Index, log.Max!.Index)
            : new SiloLogBounds(LogIndex.Zero, LogIndex.Zero));
    }

    /// <inheritdoc />
    public ValueTask<SiloShardUsage> MeasureShardAsync(ShardId shard, CancellationToken cancellationToken = default)
    {
        var snapshot = Read(cancellationToken);
        var entries = snapshot.Entries.Where(e => e.Shard == shard).ToList();
        var blocks = snapshot.Blocks.Where(b => b.Value.Shard == shard).ToList();
        var copies = snapshot.Copies.Where(c => c.Value.Shard == shard).ToList();
        var log = snapshot.Logs.TryGetValue(shard, out var l) ? l : [];
        return new(new SiloShardUsage(
            entries.Count, entries.Sum(e => (long)System.Text.Encoding.UTF8.GetByteCount(e.Key) + e.Value.Length),
            blocks.Count, blocks.Sum(b => (long)BlockAddress.Length + b.Value.Data.Length),
            copies.Count, copies.Sum(c => (long)BlockAddress.Length + c.Value.Data.Length),
            log.Count, log.Sum(e => (long)e.Data.Length)));
    }

    /// <summary>Stops accepting commits and reads (both throw <see cref="ObjectDisposedException"/> afterwards); the content goes with the instance.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_commitLock)
        {
            _disposed = true;
        }
        return ValueTask.CompletedTask;
    }

    private Snapshot Read(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return Volatile.Read(ref _current);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static SiloEntry Probe(string key) => new(key, default, []);

    private static SiloLogEntry LogProbe(LogIndex index) => new(index, Term.Zero, []);

    private static byte[] Copy(byte[] bytes) => bytes.Length == 0 ? [] : (byte[])bytes.Clone();

    private sealed record StoredBlock(ShardId Shard, byte[] Data);

    private sealed record StoredFragment(ShardId Shard, int Index, byte[] Data);

    /// <summary>One immutable state of the whole silo; <see cref="Apply"/> returns the next one.</summary>
    private sealed record Snapshot(
        ImmutableDictionary<BlockAddress, StoredBlock> Blocks,
        ImmutableSortedSet<SiloEntry> Entries,
        ImmutableDictionary<string, byte[]> Meta,
        ImmutableDictionary<ShardId, byte[]> RaftStates,
        ImmutableDictionary<ShardId, ImmutableSortedSet<SiloLogEntry>> Logs,
        ImmutableDictionary<BlockAddress, StoredBlock> Copies,
        ImmutableDictionary<BlockAddress, DateTimeOffset> Removed,
        ImmutableDictionary<BlockAddress, StoredFragment> Fragments)
    {
        public static Snapshot Empty { get; } = new(
            ImmutableDictionary<BlockAddress, StoredBlock>.Empty,
            ImmutableSortedSet.Create(_entryOrder),
            ImmutableDictionary.Create<string, byte[]>(StringComparer.Ordinal),
            ImmutableDictionary<ShardId, byte[]>.Empty,
            ImmutableDictionary<ShardId, ImmutableSortedSet<SiloLogEntry>>.Empty,
            ImmutableDictionary<BlockAddress, StoredBlock>.Empty,
            ImmutableDictionary<BlockAddress, DateTimeOffset>.Empty,
            ImmutableDictionary<BlockAddress, StoredFragment>.Empty);

        public Snapshot Apply(SiloOperation operation) => operation switch
        {
            SiloOperation.PutBlock op => this with { Blocks = Blocks.SetItem(op.Address, new StoredBlock(op.Shard, Copy(op.Data))) },
            SiloOperation.DeleteBlock op => this with
            {
                Blocks = Blocks.Remove(op.Address),
                Copies = Copies.Remove(op.Address),
                Fragments = Fragments.Remove(op.Address),
                Removed = Removed.SetItem(op.Address, DateTimeOffset.UtcNow),
            },
            SiloOperation.ForgetRemovedBlocks op => this with { Removed = Removed.RemoveRange(Removed.Where(r => r.Value < op.RemovedBefore).Select(r => r.Key)) },
            SiloOperation.PutBlockCopy op => this with { Copies = Copies.SetItem(op.Address, new StoredBlock(op.Shard, Copy(op.Data))) },
            SiloOperation.DeleteBlockCopy op => this with { Copies = Copies.Remove(op.Address) },
            SiloOperation.PutBlockFragment op => this with { Fragments = Fragments.SetItem(op.Address, new StoredFragment(op.Shard, op.Index, Copy(op.Data))) },
            SiloOperation.DeleteBlockFragment op => this with { Fragments = Fragments.Remove(op.Address) },
            // Remove first: a sorted set keeps the existing element when an equal one is added.
            SiloOperation.PutEntry op => this with { Entries = Entries.Remove(Probe(op.Key)).Add(new SiloEntry(op.Key, op.Shard, Copy(op.Value))) },
            SiloOperation.DeleteEntry op => this with { Entries = Entries.Remove(Probe(op.Key)) },
            SiloOperation.PutMeta op => this with { Meta = Meta.SetItem(op.Name, Copy(op.Value)) },
            SiloOperation.PutRaftState op => this with { RaftStates = RaftStates.SetItem(op.Shard, Copy(op.State)) },
            SiloOperation.AppendLog op => WithLog(op.Shard, Log(op.Shard).Remove(LogProbe(op.Index)).Add(new SiloLogEntry(op.Index, op.Term, Copy(op.Data)))),
            SiloOperation.TruncateLogAfter op => WithLog(op.Shard, Log(op.Shard).Except(Log(op.Shard).Where(e => e.Index > op.LastKept))),
            SiloOperation.CompactLogThrough op => WithLog(op.Shard, Log(op.Shard).Except(Log(op.Shard).Where(e => e.Index <= op.Through))),
            SiloOperation.ClearShard op => new Snapshot(
                Blocks.RemoveRange(Blocks.Where(b => b.Value.Shard == op.Shard).Select(b => b.Key)),
                Entries.Except(Entries.Where(e => e.Shard == op.Shard)),
                Meta,
                RaftStates.Remove(op.Shard),
                Logs.Remove(op.Shard),
                Copies,
                Removed,
                Fragments),
            _ => throw new InvalidOperationException($"Unknown silo operation {operation.GetType().Name} passed validation."),
        };

        private ImmutableSortedSet<SiloLogEntry> Log(ShardId shard) =>
            Logs.TryGetValue(shard, out var log) ? log : ImmutableSortedSet.Create(_logOrder);

        private Snapshot WithLog(ShardId shard, ImmutableSortedSet<SiloLogEntry> log) =>
            this with { Logs = log.Count == 0 ? Logs.Remove(shard) : Logs.SetItem(shard, log) };
    }
}
