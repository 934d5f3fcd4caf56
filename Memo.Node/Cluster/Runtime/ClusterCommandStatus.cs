namespace Memo.Node.Cluster.Runtime;

/// <summary>How an administrative request to the membership (leave, down, join) ended.</summary>
public enum ClusterCommandStatus
{
    /// <summary>Applied (or already in effect); gossip spreads it.</summary>
    Done = 0,

    /// <summary>No member has that id or address.</summary>
    UnknownMember = 1,

    /// <summary>The request does not fit the member's state (e.g. leave a Down member) or this node's.</summary>
    Refused = 2,

    /// <summary>This node is not (or no longer) a live member, so it cannot change the membership.</summary>
    NotMember = 3,
}
