namespace Memo.Node.Cluster;

/// <summary>Whether a membership state admits a joining node (<see cref="MembershipState.CheckJoin"/>); the
/// refusals are answers for the joining node, not errors.</summary>
public enum JoinCheck
{
    /// <summary>The node may be added as Joining.</summary>
    Admit = 0,

    /// <summary>The same record is already there: joining again changes nothing.</summary>
    AlreadyMember = 1,

    /// <summary>The NodeId was Down or Removed; it is retired and the node must draw a new one.</summary>
    NodeIdRetired = 2,

    /// <summary>A live member has this NodeId with another address, tokens or roles.</summary>
    NodeIdInUse = 3,

    /// <summary>A live member with another NodeId has this address (typically the node's previous incarnation,
    /// which must be downed first).</summary>
    AddressInUse = 4,

    /// <summary>The cluster has its configured maximum of live members.</summary>
    ClusterFull = 5,
}
