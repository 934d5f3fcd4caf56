namespace Memo.Node.Transport;

/// <summary>
/// Which subsystem a peer message belongs to, so the receiving node can hand it to the right owner without
/// decoding the body. Travels on the wire as <c>PeerFrame.kind</c>: the values are fixed forever.
/// </summary>
/// <remarks>Values 1 (the home-made membership gossip) and 3 (node administration over the peer links) are retired:
/// their code is gone, a frame of either kind is dropped as malformed, and they are never given to a new kind (a node
/// of an older build would read such a frame as what it once meant).</remarks>
public enum PeerChannelKind
{
    /// <summary>A Raft message of one shard's group (the shard is set).</summary>
    Raft = 2,

    /// <summary>A request forwarded to a shard's leader or to a node's replicas, or its reply: a
    /// <c>memo.shard.ForwardingEnvelope</c> with the caller's correlation id (no shard; the envelope names it).</summary>
    Forwarding = 4,
}
