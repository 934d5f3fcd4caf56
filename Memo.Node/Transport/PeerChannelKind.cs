namespace Memo.Node.Transport;

/// <summary>
/// Which subsystem a peer message belongs to, so the receiving node can hand it to the right owner without
/// decoding the body. Travels on the wire as <c>PeerFrame.kind</c>: the values are fixed forever.
/// </summary>
public enum PeerChannelKind
{
    /// <summary>Cluster membership gossip (no shard).</summary>
    Gossip = 1,

    /// <summary>A Raft message of one shard's group (the shard is set).</summary>
    Raft = 2,

    /// <summary>Node administration (cluster join, leave, down requests).</summary>
    Admin = 3,
}
