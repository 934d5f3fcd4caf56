using Memo.Protocol.Blocks;

namespace Memo.Node.Storage;

/// <summary>
/// The node's durable storage: blocks, key-value entries, per-shard Raft logs and hard state, and node
/// metadata. Implementations: <c>SqliteSilo</c> (embedded default), <c>MemorySilo</c> (tests).
/// </summary>
/// <remarks>
/// Contract (checked by the shared silo contract suite):
/// <list type="bullet">
/// <item>A batch is applied atomically: after a crash either all of it is visible or none.</item>
/// <item><see cref="CommitAsync"/> completes only once the batch is durable (it survives SIGKILL and, with
/// the default synchronous mode, power loss). Concurrent batches are group-committed: one durable flush
/// for many batches.</item>
/// <item>Batches become durable in the order their <see cref="CommitAsync"/> calls were made, so a caller that
/// has called <c>CommitAsync(a)</c> before <c>CommitAsync(b)</c> knows b durable implies a durable.</item>
/// <item>Reads see every batch whose commit has completed.</item>
/// <item>Entry keys are ordered by ordinal (UTF-8 byte) order; see <see cref="EntryKeyOrder"/>.</item>
/// <item>A batch with a malformed operation (log index 0 or above 2^63-1, a term above 2^63-1, a key or metadata
/// name with a lone surrogate) is rejected with <see cref="ArgumentException"/> before anything is queued. A batch
/// that fails while being applied (an I/O fault) fails alone: nothing of it is visible, other batches commit.</item>
/// <item>An empty batch is a barrier: it completes once every batch committed before it is durable.</item>
/// <item>After <see cref="IAsyncDisposable.DisposeAsync"/> (which first commits every queued batch), commits and
/// reads throw <see cref="ObjectDisposedException"/>.</item>
/// </list>
/// </remarks>
public interface ISilo : IAsyncDisposable
{
    /// <summary>Applies the batch atomically and durably; completes when durable.</summary>
    Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default);

    /// <summary>The stored bytes of a block (stored through its shard, else a copy), or null.</summary>
    ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, CancellationToken cancellationToken = default);

    /// <summary>
    /// The stored bytes of a block as <see cref="ReadBlockAsync"/> reads them, or, where the silo can leave it out
    /// without reading it, the same encoding less the block's payload field: what a check of the block's other fields
    /// needs (a reclaim checks its salt and owner key) without reading a large value. Null when absent. By default the
    /// whole block.
    /// </summary>
    ValueTask<byte[]?> ReadBlockHeadAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        ReadBlockAsync(address, cancellationToken);

    /// <summary>Up to <paramref name="limit"/> addresses of the block copies (<see cref="SiloBatch.PutBlockCopy"/>) of
    /// <paramref name="shard"/> after <paramref name="after"/> (null: from the first), in ascending byte order.</summary>
    ValueTask<IReadOnlyList<BlockAddress>> ListBlockCopiesAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>This node's fragment record of an erasure-coded block (<see cref="SiloBatch.PutBlockFragment"/>), or null.</summary>
    ValueTask<byte[]?> ReadBlockFragmentAsync(BlockAddress address, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> of this node's fragments of blocks of <paramref name="shard"/> after
    /// <paramref name="after"/> (null: from the first), in ascending address order, with the fragment index each holds.</summary>
    ValueTask<IReadOnlyList<SiloFragment>> ListBlockFragmentsAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>True when a <see cref="SiloBatch.DeleteBlock"/> removed the block here (a reclaim or delete through its
    /// shard) and <see cref="SiloBatch.ForgetRemovedBlocks"/> has not forgotten it yet: a copy of it is stale.</summary>
    ValueTask<bool> IsBlockRemovedAsync(BlockAddress address, CancellationToken cancellationToken = default);

    /// <summary>The stored bytes of a key-value entry, or null.</summary>
    ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> entries whose keys start with <paramref name="prefix"/> and sort strictly
    /// after <paramref name="after"/> (null: from the first), in ascending ordinal order.
    /// </summary>
    ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesAsync(string prefix, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> entries whose keys start with <paramref name="prefix"/> and sort after every key
    /// that starts with <paramref name="skipped"/>, in ascending order: a listing resumes here after it rolled the keys
    /// under <paramref name="skipped"/> up into one common prefix, without reading them.
    /// </summary>
    ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesPastAsync(string prefix, string skipped, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> records of <paramref name="shard"/> strictly after <paramref name="after"/>
    /// (null: from the first): its blocks in address byte order, then its key-value entries in ordinal key order.
    /// Page with the last record's <see cref="SiloShardRecord.Position"/>. Used to snapshot a shard's state.
    /// </summary>
    ValueTask<IReadOnlyList<SiloShardRecord>> ScanShardAsync(ShardId shard, SiloShardPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>A named metadata value (node key, network parameters), or null.</summary>
    ValueTask<byte[]?> ReadMetaAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The persisted Raft hard state of a shard (opaque to the silo), or null.</summary>
    ValueTask<byte[]?> ReadRaftStateAsync(ShardId shard, CancellationToken cancellationToken = default);

    /// <summary>The shard's log entries with index in [<paramref name="from"/>, <paramref name="toExclusive"/>), ascending.</summary>
    ValueTask<IReadOnlyList<SiloLogEntry>> ReadLogAsync(ShardId shard, LogIndex from, LogIndex toExclusive, CancellationToken cancellationToken = default);

    /// <summary>The first and last stored log index of a shard; both <see cref="LogIndex.Zero"/> when empty.</summary>
    ValueTask<SiloLogBounds> ReadLogBoundsAsync(ShardId shard, CancellationToken cancellationToken = default);

    /// <summary>
    /// Counts what <paramref name="shard"/> holds (rows and bytes of entries, Raft-state blocks, block copies, log
    /// entries). Reads every row of the shard: for operators' views refreshed now and then, not for a request path.
    /// </summary>
    ValueTask<SiloShardUsage> MeasureShardAsync(ShardId shard, CancellationToken cancellationToken = default);
}

/// <summary>A key-value entry as stored: its key, its shard and the entry's opaque bytes.</summary>
public sealed record SiloEntry(string Key, ShardId Shard, byte[] Value);

/// <summary>A stored Raft log entry; the payload is opaque to the silo.</summary>
public sealed record SiloLogEntry(LogIndex Index, Term Term, byte[] Data);

/// <summary>The stored index range of a shard's log; both zero when the log is empty.</summary>
public readonly record struct SiloLogBounds(LogIndex First, LogIndex Last)
{
    /// <summary>True when no entry is stored.</summary>
    public bool IsEmpty => First == LogIndex.Zero;
}
