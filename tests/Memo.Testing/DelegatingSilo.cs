using Memo.Node;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;

namespace Memo.Testing;

/// <summary>
/// A silo that hands every call to another one; a test's fault-injecting silo derives from it and overrides only the
/// call it changes (a commit that stalls, a read that pauses), so a new <see cref="ISilo"/> member needs one forward here.
/// </summary>
public abstract class DelegatingSilo(ISilo inner) : ISilo
{
    /// <summary>The silo every call goes to.</summary>
    protected ISilo Inner { get; } = inner;

    /// <inheritdoc />
    public virtual Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default) => Inner.CommitAsync(batch, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default) => Inner.ReadEntryAsync(key, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, CancellationToken cancellationToken = default) => Inner.ReadBlockAsync(address, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<BlockAddress>> ListBlockCopiesAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ListBlockCopiesAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<byte[]?> ReadBlockFragmentAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        Inner.ReadBlockFragmentAsync(address, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<SiloFragment>> ListBlockFragmentsAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ListBlockFragmentsAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<bool> IsBlockRemovedAsync(BlockAddress address, CancellationToken cancellationToken = default) => Inner.IsBlockRemovedAsync(address, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesAsync(string prefix, string? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ScanEntriesAsync(prefix, after, limit, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesPastAsync(string prefix, string skipped, int limit, CancellationToken cancellationToken = default) =>
        Inner.ScanEntriesPastAsync(prefix, skipped, limit, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<SiloShardRecord>> ScanShardAsync(ShardId shard, SiloShardPosition? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ScanShardAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<byte[]?> ReadMetaAsync(string name, CancellationToken cancellationToken = default) => Inner.ReadMetaAsync(name, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<byte[]?> ReadRaftStateAsync(ShardId shard, CancellationToken cancellationToken = default) => Inner.ReadRaftStateAsync(shard, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<SiloLogEntry>> ReadLogAsync(ShardId shard, LogIndex from, LogIndex toExclusive, CancellationToken cancellationToken = default) =>
        Inner.ReadLogAsync(shard, from, toExclusive, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<SiloLogBounds> ReadLogBoundsAsync(ShardId shard, CancellationToken cancellationToken = default) => Inner.ReadLogBoundsAsync(shard, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<SiloShardUsage> MeasureShardAsync(ShardId shard, CancellationToken cancellationToken = default) => Inner.MeasureShardAsync(shard, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
