using Memo.Node.Shards;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Routing;

/// <summary>
/// Finds the replica that serves an address or a key. On a single node every shard is local; the cluster
/// issue replaces the lookup with ring placement and leader forwarding behind the same two methods.
/// </summary>
public sealed class ShardRouter : IAsyncDisposable
{
    private readonly ShardReplica[] _replicas;

    /// <summary>Starts one replica actor per shard of <paramref name="layout"/> on <paramref name="silo"/>.</summary>
    public ShardRouter(ShardLayout layout, ISilo silo, ShardReplicaOptions options, ILoggerFactory loggerFactory)
    {
        Layout = layout;
        var logger = loggerFactory.CreateLogger<ShardReplica>();
        _replicas = layout.AllShards.Select(shard => new ShardReplica(shard, silo, options, logger)).ToArray();
    }

    /// <summary>The shard layout of the network.</summary>
    public ShardLayout Layout { get; }

    /// <summary>The replica that stores the block at <paramref name="address"/>.</summary>
    public ShardReplica ForBlock(BlockAddress address) => _replicas[Layout.ShardOf(address).Value];

    /// <summary>The replica that stores the entry of <paramref name="key"/>.</summary>
    public ShardReplica ForKey(string key) => _replicas[Layout.ShardOf(key).Value];

    /// <summary>Stops every replica after its queued commands.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync().ConfigureAwait(false);
        }
    }
}
