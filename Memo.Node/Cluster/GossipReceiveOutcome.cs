namespace Memo.Node.Cluster;

/// <summary>What became of a received gossip state.</summary>
public enum GossipReceiveOutcome
{
    /// <summary>Merged into the local state.</summary>
    Merged = 0,

    /// <summary>Addressed to another node: ignored.</summary>
    Misaddressed = 1,

    /// <summary>The sender is not a live member (in its own state or in ours): ignored, so that a downed node cannot
    /// push its stale view back into the cluster.</summary>
    UnknownSender = 2,

    /// <summary>This node is Down or Removed in its own state: it no longer takes part, and ignores gossip.</summary>
    SelfRetired = 3,
}
