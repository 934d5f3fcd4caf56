namespace Memo.Node.Cluster.Runtime;

/// <summary>What a member answered a node asking to join.</summary>
public enum AdmitOutcome
{
    /// <summary>Admitted (or already a member): the answer carries the state and the network parameters.</summary>
    Admitted = 0,

    /// <summary>The contacted node is not a live member itself; try another seed.</summary>
    NotAMember = 1,

    /// <summary>Refused for good: another network or shard count, a retired id, an address or id in use.</summary>
    Refused = 2,

    /// <summary>The cluster has its maximum of live members.</summary>
    ClusterFull = 3,

    /// <summary>The request itself is malformed (bad address or tokens).</summary>
    Invalid = 4,
}
