using System.Collections.Immutable;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// One immutable snapshot of the cluster as this node sees it: the membership, the ring placement of every shard
/// for the network's shard count and replication factor, and this node's standing. Published by
/// <see cref="ClusterNode"/> after every turn that changed something; read it from any thread without locks
/// (<see cref="ClusterNode.View"/>) or subscribe to <see cref="ClusterNode.ViewChanged"/>.
/// </summary>
public sealed class ClusterView
{
    internal ClusterView(
        long version,
        NodeId self,
        string selfAddress,
        MembershipState state,
        NetworkParameters network,
        RingPlacement placement,
        bool isServing,
        string? problem)
    {
        Version = version;
        Self = self;
        SelfAddress = selfAddress;
        State = state;
        Network = network;
        Placement = placement;
        IsServing = isServing;
        Problem = problem;
    }

    /// <summary>Grows by one with every view this node publishes (not comparable across nodes).</summary>
    public long Version { get; }

    /// <summary>This node's id.</summary>
    public NodeId Self { get; }

    /// <summary>The address peers and clients reach this node at.</summary>
    public string SelfAddress { get; }

    /// <summary>The membership state (members, version, reachability, seen set).</summary>
    public MembershipState State { get; }

    /// <summary>The network parameters in force.</summary>
    public NetworkParameters Network { get; }

    /// <summary>Every shard's replica set from the ring of Up members (<see cref="RingPlacement.IsClamped"/> when there
    /// are fewer Up members than the replication factor).</summary>
    public RingPlacement Placement { get; }

    /// <summary>This node's status; null before it formed or joined a cluster.</summary>
    public MemberStatus? SelfStatus => State.StatusOf(Self);

    /// <summary>True once this node is a member (any status) of a cluster.</summary>
    public bool IsMember => SelfStatus is not null;

    /// <summary>False when the downing rule told this node to stop serving (minority side, or downed), when it is
    /// Down/Removed, or before it is a member. Shards should not accept writes while false.</summary>
    public bool IsServing { get; }

    /// <summary>Why this node is not serving or not joined (join refused, minority, removed); null when all is well.</summary>
    public string? Problem { get; }

    /// <summary>The membership leader; <see cref="NodeId.None"/> when there is none.</summary>
    public NodeId Leader => State.Leader;

    /// <summary>Every Up and Leaving member is reachable and has seen the current membership version.</summary>
    public bool IsConverged => State.IsConverged;

    /// <summary>Members some live member suspects.</summary>
    public ImmutableSortedSet<NodeId> Unreachable => State.Unreachable;

    /// <summary>The replica set of <paramref name="shard"/> (the first node is the preferred Raft leader).</summary>
    public ReplicaSet ReplicasOf(ShardId shard) => Placement[shard];

    /// <summary>The shards <paramref name="node"/> holds a replica of.</summary>
    public ImmutableArray<ShardId> ShardsOf(NodeId node) => Placement.ShardsOf(node);

    /// <summary>The address of a member, or null when it has no record.</summary>
    public string? AddressOf(NodeId node) => State.TryGetMember(node, out var member) ? member.Address : null;

    /// <inheritdoc />
    public override string ToString() =>
        $"view v{Version} of {Self} ({SelfAddress}, {SelfStatus?.ToString() ?? "not a member"}{(IsServing ? "" : ", not serving")}" +
        $"{(Problem is null ? "" : ": " + Problem)}) leader {Leader}, converged {IsConverged}\n{State}";
}
