namespace Memo.Node.Cluster;

/// <summary>What a node should send back after a gossip status or state from a peer.</summary>
public enum GossipReply
{
    /// <summary>Nothing: both hold the same version, or the peer's was newer and has been taken.</summary>
    None = 0,

    /// <summary>Send our full state: the peer lacks some of our changes.</summary>
    SendState = 1,

    /// <summary>Send our status: the peer is ahead and will answer with its full state.</summary>
    RequestState = 2,
}
