using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>How one shard's replica set differs between two placements: what its Raft group must reconcile.</summary>
/// <param name="Shard">The shard.</param>
/// <param name="Before">Its replica set in the earlier placement.</param>
/// <param name="After">Its replica set in the later placement.</param>
public sealed record ShardChange(ShardId Shard, ReplicaSet Before, ReplicaSet After)
{
    /// <summary>Nodes that gain a replica of the shard (to add as learners, then promote).</summary>
    public ImmutableArray<NodeId> Added { get; } = [.. After.Nodes.Where(n => !Before.Contains(n))];

    /// <summary>Nodes that lose their replica of the shard (to remove once the new ones caught up).</summary>
    public ImmutableArray<NodeId> Removed { get; } = [.. Before.Nodes.Where(n => !After.Contains(n))];

    /// <summary>True when the preferred leader changed (possibly with the same set of nodes).</summary>
    public bool PreferredChanged => Before.Preferred != After.Preferred;
}
