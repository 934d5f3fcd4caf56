namespace Memo.Node.Cluster;

/// <summary>Why the downing rule tells this node to stop serving.</summary>
public enum StopServingReason
{
    /// <summary>This node's side reaches at most a minority of the full members: the other side will down it.</summary>
    Minority = 0,

    /// <summary>The sides are equal halves and the other one holds the lowest NodeId.</summary>
    LosingHalf = 1,

    /// <summary>The membership already says this node is Down or Removed.</summary>
    SelfDown = 2,
}
