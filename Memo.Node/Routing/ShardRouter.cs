using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Routing;

/// <summary>
/// Every shard local and unreplicated: one <see cref="ShardReplica"/> per shard on one silo. The node serves through
/// <see cref="ClusterShardGateway"/> (Raft per shard); this gateway remains for unit tests of the stores.
/// </summary>
public sealed class ShardRouter : IShardGateway, IAsyncDisposable
{
    private readonly ShardReplica[] _replicas;
    private readonly ISilo _silo;

    /// <summary>Starts one replica actor per shard of <paramref name="layout"/> on <paramref name="silo"/>.</summary>
    public ShardRouter(ShardLayout layout, ISilo silo, ShardReplicaOptions options, ILoggerFactory loggerFactory)
    {
        Layout = layout;
        _silo = silo;
        var logger = loggerFactory.CreateLogger<ShardReplica>();
        _replicas = layout.AllShards.Select(shard => new ShardReplica(shard, silo, options, logger)).ToArray();
    }

    /// <summary>The shard layout of the network.</summary>
    public ShardLayout Layout { get; }

    /// <summary>The replica that stores the block at <paramref name="address"/>.</summary>
    public ShardReplica ForBlock(BlockAddress address) => _replicas[Layout.ShardOf(address).Value];

    /// <summary>The replica that stores the entry of <paramref name="key"/>.</summary>
    public ShardReplica ForKey(string key) => _replicas[Layout.ShardOf(key).Value];

    /// <inheritdoc />
    public Task<ShardResult> ProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken = default) =>
        _replicas[shard.Value].SubmitAsync(command, cancellationToken);

    /// <inheritdoc />
    public void Reclaim(BlockAddress address) => ForBlock(address).Reclaim(address);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default) =>
        _silo.ReadEntryAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, bool linearizable, CancellationToken cancellationToken = default) =>
        _silo.ReadBlockAsync(address, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ScanKeysAsync(string prefix, string? after, int limit, CancellationToken cancellationToken = default) =>
        (await _silo.ScanEntriesAsync(prefix, after, limit, cancellationToken).ConfigureAwait(false)).Select(e => e.Key).ToList();

    /// <summary>Stops every replica after its queued commands.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync().ConfigureAwait(false);
        }
    }
}
