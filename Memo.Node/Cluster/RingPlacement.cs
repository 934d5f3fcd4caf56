using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>
/// The replica set of every shard for one ring, computed at once. The runtime swaps a new placement in atomically
/// when the membership changes and hands <see cref="PlacementDiff.Between"/> to the shard groups to reconcile.
/// </summary>
public sealed class RingPlacement
{
    private RingPlacement(Ring ring, int requested, ImmutableArray<ReplicaSet> replicas)
    {
        Ring = ring;
        RequestedReplicationFactor = requested;
        ReplicationFactor = Math.Min(requested, ring.NodeCount);
        Replicas = replicas;
    }

    /// <summary>The ring this placement was computed from.</summary>
    public Ring Ring { get; }

    /// <summary>Number of shards.</summary>
    public int ShardCount => Replicas.Length;

    /// <summary>The replication factor asked for (the network policy).</summary>
    public int RequestedReplicationFactor { get; }

    /// <summary>The replicas every shard actually gets: the requested factor clamped to the nodes on the ring.</summary>
    public int ReplicationFactor { get; }

    /// <summary>True when the ring has fewer nodes than the requested factor: every shard is under-replicated, which
    /// the runtime should report.</summary>
    public bool IsClamped => ReplicationFactor < RequestedReplicationFactor;

    /// <summary>The replica set of each shard, indexed by shard number.</summary>
    public ImmutableArray<ReplicaSet> Replicas { get; }

    /// <summary>The replica set of <paramref name="shard"/>.</summary>
    public ReplicaSet this[ShardId shard] => Replicas[shard.Value];

    /// <summary>Places all <paramref name="shardCount"/> shards (a power of two in 1..65536) on <paramref name="ring"/>.</summary>
    public static RingPlacement Compute(Ring ring, int shardCount, int replicationFactor)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(replicationFactor);
        _ = Ring.PositionOf(new ShardId(0), shardCount); // validates the shard count
        var replicas = ImmutableArray.CreateBuilder<ReplicaSet>(shardCount);
        for (var i = 0; i < shardCount; i++)
        {
            replicas.Add(ring.ReplicasOf(new ShardId(i), shardCount, replicationFactor));
        }
        return new RingPlacement(ring, replicationFactor, replicas.MoveToImmutable());
    }

    /// <summary>The shards <paramref name="node"/> holds a replica of, ascending.</summary>
    public ImmutableArray<ShardId> ShardsOf(NodeId node)
    {
        var shards = ImmutableArray.CreateBuilder<ShardId>();
        for (var i = 0; i < Replicas.Length; i++)
        {
            if (Replicas[i].Contains(node))
            {
                shards.Add(new ShardId(i));
            }
        }
        return shards.ToImmutable();
    }

    /// <summary>Replica slots per node on the ring (nodes holding nothing appear with 0).</summary>
    public ImmutableSortedDictionary<NodeId, int> Load()
    {
        var load = Ring.Nodes.ToDictionary(n => n, _ => 0);
        foreach (var set in Replicas)
        {
            foreach (var node in set.Nodes)
            {
                load[node]++;
            }
        }
        return load.ToImmutableSortedDictionary();
    }
}
