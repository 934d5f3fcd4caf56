namespace Memo.Node.Transport;

/// <summary>
/// A snapshot of what this node knows about its link with one peer: the outbound state, the queue, and
/// counters since the transport started. Counters are read one by one, so a snapshot taken while messages
/// flow may be off by the messages in motion.
/// </summary>
/// <param name="Peer">The peer.</param>
/// <param name="Address">The address last used to reach the peer (or the one it announced, if it only dialled us).</param>
/// <param name="State">The outbound link's state.</param>
/// <param name="InboundLinks">Streams the peer currently has open to this node (0 or 1 normally; more briefly while it reconnects).</param>
/// <param name="Queued">Messages waiting in the outbound queue.</param>
/// <param name="QueuedBytes">Body bytes waiting in the outbound queue.</param>
/// <param name="Sent">Messages written to the link (written, not necessarily received: a write can be lost with the stream).</param>
/// <param name="SentBatches">Batches written to the link; <see cref="Sent"/> / <see cref="SentBatches"/> is the coalescing achieved.</param>
/// <param name="Received">Messages received from the peer and handed to the inbound channel.</param>
/// <param name="DroppedQueueFull">Messages refused by <see cref="IPeerTransport.Send"/> because the queue was at its message or byte limit.</param>
/// <param name="DroppedUnreachable">Messages dropped because the peer could not be reached, refused the link, or the stream broke while they were being written.</param>
/// <param name="DroppedInboundFull">Messages received from the peer and dropped on this node because <see cref="IPeerTransport.Inbound"/> was full (only a transport that cannot slow a sender down drops here: <see cref="AkkaPeerTransport"/>).</param>
/// <param name="MalformedFrames">Frames received from the peer that were dropped as malformed (unknown kind, bad shard, too large).</param>
/// <param name="LastError">Why the last connection attempt or stream failed; null if none did.</param>
public sealed record PeerLinkStats(
    NodeId Peer,
    string? Address,
    PeerLinkState State,
    int InboundLinks,
    int Queued,
    long QueuedBytes,
    long Sent,
    long SentBatches,
    long Received,
    long DroppedQueueFull,
    long DroppedUnreachable,
    long DroppedInboundFull,
    long MalformedFrames,
    string? LastError)
{
    /// <summary>Snapshots ordered by peer, as <see cref="IPeerTransport.GetLinkStats()"/> returns them.</summary>
    public static IReadOnlyList<PeerLinkStats> OrderedByPeer(IEnumerable<PeerLinkStats> snapshots)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        var stats = snapshots.ToList();
        stats.Sort(static (a, b) => a.Peer.CompareTo(b.Peer));
        return stats;
    }

    /// <summary>True while the outbound stream is up.</summary>
    public bool Connected => State == PeerLinkState.Connected;

    /// <summary>Every message dropped on the way to the peer, whatever the reason.</summary>
    public long Dropped => DroppedQueueFull + DroppedUnreachable;
}
