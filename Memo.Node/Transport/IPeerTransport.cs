using System.Threading.Channels;

namespace Memo.Node.Transport;

/// <summary>
/// Carries opaque messages between this node and its peers: one ordered, lossy, batched link per peer.
/// Implementations: <see cref="AkkaPeerTransport"/> (the node's default, over Akka.Remote), <see cref="TcpPeerTransport"/>
/// (the node's with <c>memo.peer.transport = tcp</c>, its own TCP streams) and <see cref="InMemoryPeerTransport"/> (tests,
/// with fault injection); all pass one contract suite.
/// </summary>
/// <remarks>
/// <para>Guarantees: messages from this node to one peer arrive in the order they were sent while the link
/// stays up; a message arrives at most once; a message may be lost (queue full, peer unreachable, link
/// broken mid-write). Raft tolerates loss and retransmit on their own ticks, so the transport
/// never retries a message and never blocks a sender.</para>
/// <para>Thread safety: every member may be called from any thread.</para>
/// </remarks>
public interface IPeerTransport : IAsyncDisposable
{
    /// <summary>This node.</summary>
    NodeId LocalNode { get; }

    /// <summary>
    /// Messages received from peers, in per-peer order. Bounded: when the consumer falls behind, links stop
    /// reading and their senders' queues fill (and drop there), or, on a transport that cannot slow a remote sender
    /// down, received messages are dropped and counted in <see cref="PeerLinkStats.DroppedInboundFull"/>.
    /// Completes when the transport is disposed.
    /// </summary>
    ChannelReader<InboundPeerMessage> Inbound { get; }

    /// <summary>
    /// Queues <paramref name="message"/> for <paramref name="to"/> and returns at once. Never blocks and never
    /// throws for network reasons: a message that cannot be queued (queue full) or delivered (peer unreachable,
    /// link refused) is dropped and counted in <see cref="GetLinkStats(NodeId)"/>. After disposal, messages are ignored.
    /// </summary>
    /// <returns>False when the message certainly never left this node (dropped at once: the link is known to be down
    /// or refused, the queue is full, the peer has no address, the transport is disposed), so whoever sent it may
    /// act as if it was never sent. True when it was handed on: it may still be lost on the way.</returns>
    /// <param name="to">The peer; not <see cref="NodeId.None"/> and not <see cref="LocalNode"/>.</param>
    /// <param name="address">Where the peer listens (<c>host:port</c>); a changed address moves the link there.</param>
    /// <param name="message">The message; its body must not be modified afterwards.</param>
    /// <exception cref="ArgumentException">A caller bug: no peer, this node itself, an empty address, or a body over <see cref="PeerTransportOptions.MaxMessageBytes"/>.</exception>
    bool Send(NodeId to, string address, PeerMessage message);

    /// <summary>
    /// A token cancelled when the link to <paramref name="peer"/> next loses its connection: the association ended or
    /// failed, the attempt to connect failed (its queued messages dropped), the peer went down, or this transport is
    /// disposed. Whoever waits for an answer from the peer stops waiting then: a message handed on before the break
    /// may or may not have arrived, but no answer to it will come over the ended connection.
    /// </summary>
    /// <remarks>Read it before <see cref="Send"/>, so a break between the two is not missed. A transport that cannot
    /// tell (no link to the peer yet) returns <see cref="CancellationToken.None"/>: the caller's own deadline applies.</remarks>
    CancellationToken ConnectionLost(NodeId peer);

    /// <summary>A snapshot of every peer this node has sent to or heard from, ordered by node id.</summary>
    IReadOnlyList<PeerLinkStats> GetLinkStats();

    /// <summary>A snapshot of the link with <paramref name="peer"/>; null if this node never sent to it nor heard from it.</summary>
    PeerLinkStats? GetLinkStats(NodeId peer);
}
