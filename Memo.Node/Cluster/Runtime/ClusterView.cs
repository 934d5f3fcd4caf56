using System.Collections.Immutable;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// One immutable snapshot of the cluster as this node sees it: the membership, the ring placement of every shard
/// for the network's shard count and replication factor, and this node's standing. Published by
/// <see cref="ClusterMembership"/> after every membership event; read it from any thread without locks
/// (<see cref="ClusterMembership.View"/>) or subscribe to <see cref="ClusterMembership.ViewChanged"/>.
/// </summary>
public sealed class ClusterView
{
    internal ClusterView(
        long version,
        NodeId self,
        string selfAddress,
        string selfRemoteAddress,
        ClusterMembers membership,
        NetworkParameters network,
        RingPlacement placement,
        bool isServing,
        string? problem)
    {
        Version = version;
        Self = self;
        SelfAddress = selfAddress;
        SelfRemoteAddress = selfRemoteAddress;
        Membership = membership;
        Network = network;
        Placement = placement;
        IsServing = isServing;
        Problem = problem;
    }

    /// <summary>Grows by one with every view this node publishes (not comparable across nodes).</summary>
    public long Version { get; }

    /// <summary>This node's id.</summary>
    public NodeId Self { get; }

    /// <summary>The address clients reach this node's gRPC API at.</summary>
    public string SelfAddress { get; }

    /// <summary>host:port of this node's Akka remoting endpoint (node-to-node and admin traffic).</summary>
    public string SelfRemoteAddress { get; }

    /// <summary>The members (one record per NodeId), who is suspected, and the leader.</summary>
    public ClusterMembers Membership { get; }

    /// <summary>The network parameters in force.</summary>
    public NetworkParameters Network { get; }

    /// <summary>Every shard's replica set from the ring of Up members (<see cref="RingPlacement.IsClamped"/> when there
    /// are fewer Up members than the replication factor).</summary>
    public RingPlacement Placement { get; }

    /// <summary>This node's status; null before it formed or joined a cluster.</summary>
    public MemberStatus? SelfStatus => Membership.StatusOf(Self);

    /// <summary>True once this node is a member (any status) of a cluster.</summary>
    public bool IsMember => SelfStatus is not null;

    /// <summary>False when this node is Down or Removed (downed by the split brain resolver or an operator), was made
    /// for other network parameters than the cluster's, or is not a member yet. Shards should not accept writes while
    /// false.</summary>
    public bool IsServing { get; }

    /// <summary>Why this node is not serving or not joined (joining, other network parameters, downed); null when all
    /// is well.</summary>
    public string? Problem { get; }

    /// <summary>The membership leader; <see cref="NodeId.None"/> when there is none.</summary>
    public NodeId Leader => Membership.Leader;

    /// <summary>Every member is Up and reachable: no join, leave or failure in progress.</summary>
    public bool IsConverged => Membership.IsConverged;

    /// <summary>Members some live member suspects.</summary>
    public ImmutableSortedSet<NodeId> Unreachable => Membership.Unreachable;

    /// <summary>The replica set of <paramref name="shard"/> (the first node is the preferred Raft leader).</summary>
    public ReplicaSet ReplicasOf(ShardId shard) => Placement[shard];

    /// <summary>The shards <paramref name="node"/> holds a replica of.</summary>
    public ImmutableArray<ShardId> ShardsOf(NodeId node) => Placement.ShardsOf(node);

    /// <summary>The address of a member, or null when it has no record.</summary>
    public string? AddressOf(NodeId node) => Membership.TryGetMember(node, out var member) ? member.Address : null;

    /// <inheritdoc />
    public override string ToString() =>
        $"view v{Version} of {Self} ({SelfAddress}, {SelfStatus?.ToString() ?? "not a member"}{(IsServing ? "" : ", not serving")}" +
        $"{(Problem is null ? "" : ": " + Problem)}) leader {Leader}, converged {IsConverged}\n{Membership}";
}
