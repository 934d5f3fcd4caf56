using System.Collections.Concurrent;
using Memo.Protocol.Blocks;

namespace Memo.Node.Storage;

/// <summary>
/// A silo that keeps the entries it has read in memory, up to a byte budget, in front of another silo. A get read
/// every entry from SQLite: a read transaction, two WAL-index locks (fcntl system calls) and a B-tree descent, about a
/// fifth of a 1-node get's CPU in a profile at 64 callers. Entries are what gets read again and again (a key's entry
/// holds its value up to <c>memo.kvs.inline-value-bytes</c>).
/// </summary>
/// <remarks>
/// <para>Coherence: every write goes through <see cref="CommitAsync"/>, which, once the inner commit completed and
/// before it returns, takes the values its batch wrote into the cache (a put's value; a delete or a cleared shard evicts),
/// so the contract's "reads see every batch whose commit has completed" holds. A replica's next write to a key reads
/// the key's entry first (ShardStateMachine decides against it), and a write that only evicted left that read to
/// SQLite: a read transaction and a B-tree descent for every put, 6.7% of a one-node profile at 64 callers. Each commit
/// takes its values only after the commit called before it took its own (a chain), so two commits that complete out
/// of order cannot leave the older value behind; a commit that failed or was cancelled may have landed or not, so it
/// evicts instead. A read that missed fills the cache only if no commit touched it since the read began (a generation
/// counter), so a value read just before a commit landed is never cached after it.</para>
/// <para>Budget: once the cached bytes reach it, misses are served and new keys written are not kept until evictions
/// free room (a key already cached takes its new value). Every read
/// hands out its own array, as the silo contract wants (a copy of a few hundred bytes costs far less than the read).</para>
/// </remarks>
public sealed class EntryCacheSilo : ISilo
{
    // Bookkeeping per cached entry beyond key and value (dictionary node, array headers), for the budget.
    private const int EntryOverheadBytes = 96;

    private readonly ConcurrentDictionary<string, byte[]> _entries = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();
    private readonly Lock _commitOrder = new();
    private Task _lastCommit = Task.CompletedTask;
    private readonly long _budgetBytes;
    private long _generation;
    private long _cachedBytes;
    private long _hits;
    private long _misses;
    private volatile bool _disposed;

    /// <summary>Wraps <paramref name="inner"/> (owned from now on) with a cache of at most <paramref name="budgetBytes"/>.</summary>
    public EntryCacheSilo(ISilo inner, long budgetBytes)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        Inner = inner;
        _budgetBytes = budgetBytes;
    }

    /// <summary>The silo underneath.</summary>
    public ISilo Inner { get; }

    /// <summary>Reads answered from memory so far.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Reads that went to the inner silo so far.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Bytes held now (keys, values and overhead).</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <inheritdoc />
    public Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        // The contract promises completions in call order, and each commit's cache update runs in a continuation of its
        // own, which the thread pool may run in any order: so each commit also waits for the one called before it.
        // Under one lock, so the inner silo sees the calls in the order of the chain. This needs an inner CommitAsync
        // that only queues (SqliteSilo's writer queue, MemorySilo): one that blocked would hold every committer here.
        lock (_commitOrder)
        {
            var committed = CommitThenTakeValuesAsync(Inner.CommitAsync(batch, cancellationToken), batch, _lastCommit);
            _lastCommit = committed;
            return committed;
        }
    }

    private async Task CommitThenTakeValuesAsync(Task inner, SiloBatch batch, Task previous)
    {
        var landed = false;
        try
        {
            await inner.ConfigureAwait(false);
            landed = true;
        }
        finally
        {
            // After the previous commit took its values: this batch's are newer.
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            // Also after a failure or a cancellation: the batch may have landed all the same, so it only evicts.
            TakeValues(batch, landed);
        }
    }

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default)
    {
        // A disposed silo answers no read, not even one memory could (the contract; the inner silo checks its own).
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_entries.TryGetValue(key, out var cached))
        {
            Interlocked.Increment(ref _hits);
            // A copy: the contract lets callers keep and change the arrays they get.
            return cached.AsSpan().ToArray();
        }
        Interlocked.Increment(ref _misses);
        var generation = Volatile.Read(ref _generation);
        var value = await Inner.ReadEntryAsync(key, cancellationToken).ConfigureAwait(false);
        if (value is not null && _budgetBytes > 0)
        {
            var size = Size(key, value);
            lock (_sync)
            {
                if (_generation == generation && _cachedBytes + size <= _budgetBytes && _entries.TryAdd(key, value.AsSpan().ToArray()))
                {
                    _cachedBytes += size;
                }
            }
        }
        return value;
    }

    private void TakeValues(SiloBatch batch, bool landed)
    {
        lock (_sync)
        {
            _generation++;
            foreach (var operation in batch.Operations)
            {
                switch (operation)
                {
                    case SiloOperation.PutEntry put when landed:
                        Store(put.Key, put.Value);
                        break;
                    case SiloOperation.PutEntry put:
                        Remove(put.Key);
                        break;
                    case SiloOperation.DeleteEntry delete:
                        Remove(delete.Key);
                        break;
                    case SiloOperation.ClearShard:
                        // Rare (a replica removed or replaced by a snapshot); the cache does not know entries' shards.
                        _entries.Clear();
                        _cachedBytes = 0;
                        break;
                }
            }
        }
    }

    // Under _sync. A copy: the batch's arrays stay the writer's.
    private void Store(string key, byte[] value)
    {
        var size = Size(key, value);
        var replaced = _entries.TryGetValue(key, out var old) ? Size(key, old) : 0;
        if (_budgetBytes == 0 || _cachedBytes - replaced + size > _budgetBytes)
        {
            Remove(key);
            return;
        }
        _entries[key] = value.AsSpan().ToArray();
        _cachedBytes += size - replaced;
    }

    private void Remove(string key)
    {
        if (_entries.TryRemove(key, out var value))
        {
            _cachedBytes -= Size(key, value);
        }
    }

    private static long Size(string key, byte[] value) => (key.Length * 2L) + value.Length + EntryOverheadBytes;

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        Inner.ReadBlockAsync(address, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadBlockHeadAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        Inner.ReadBlockHeadAsync(address, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<BlockAddress>> ListBlockCopiesAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ListBlockCopiesAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadBlockFragmentAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        Inner.ReadBlockFragmentAsync(address, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloFragment>> ListBlockFragmentsAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ListBlockFragmentsAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> IsBlockRemovedAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        Inner.IsBlockRemovedAsync(address, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesAsync(string prefix, string? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ScanEntriesAsync(prefix, after, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesPastAsync(string prefix, string skipped, int limit, CancellationToken cancellationToken = default) =>
        Inner.ScanEntriesPastAsync(prefix, skipped, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloShardRecord>> ScanShardAsync(ShardId shard, SiloShardPosition? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ScanShardAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadMetaAsync(string name, CancellationToken cancellationToken = default) => Inner.ReadMetaAsync(name, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadRaftStateAsync(ShardId shard, CancellationToken cancellationToken = default) => Inner.ReadRaftStateAsync(shard, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloLogEntry>> ReadLogAsync(ShardId shard, LogIndex from, LogIndex toExclusive, CancellationToken cancellationToken = default) =>
        Inner.ReadLogAsync(shard, from, toExclusive, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SiloLogBounds> ReadLogBoundsAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        Inner.ReadLogBoundsAsync(shard, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SiloShardUsage> MeasureShardAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        Inner.MeasureShardAsync(shard, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await Inner.DisposeAsync().ConfigureAwait(false);
        // The inner silo completes its queued commits before its dispose returns; this one's own commit tasks end a
        // continuation later (taking the values), and the contract promises them complete when dispose returns. The last
        // one waits for every earlier one.
        Task last;
        lock (_commitOrder)
        {
            last = _lastCommit;
        }
        await last.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
