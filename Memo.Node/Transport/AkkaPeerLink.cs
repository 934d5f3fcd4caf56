using Akka.Actor;

namespace Memo.Node.Transport;

/// <summary>
/// What <see cref="AkkaPeerTransport.Send"/> callers and one <see cref="PeerLinkActor"/> share about one peer:
/// the bounded queue, the counters, the address to reach the peer at, and a flag that keeps the actor's mailbox
/// to one wake-up per burst of sends. Everything else about the link lives inside the actor.
/// </summary>
internal sealed class AkkaPeerLink
{
    private volatile string? _address;
    private volatile IActorRef? _actor;
    private int _wakePending;

    public AkkaPeerLink(NodeId peer, PeerTransportOptions options)
    {
        Peer = peer;
        Counters = new PeerLinkCounters(peer);
        Queue = new PeerSendQueue(options.QueueCapacity, options.MaxQueuedBytes);
    }

    public NodeId Peer { get; }

    public PeerLinkCounters Counters { get; }

    public PeerSendQueue Queue { get; }

    /// <summary>The <c>host:port</c> the last <see cref="Send"/> named; null for a peer this node only heard from.</summary>
    public string? Address => _address;

    /// <summary>The link's actor; null until the first <see cref="Send"/> (a peer only heard from has none).</summary>
    public IActorRef? Actor
    {
        get => _actor;
        set => _actor = value;
    }

    /// <summary>
    /// Queues a message and wakes the actor if no wake-up is pending; never waits. A full queue, or a peer that
    /// the last attempt could not reach, drops the message and counts it (and returns false).
    /// </summary>
    public bool Send(string address, in PeerMessage message)
    {
        if (!string.Equals(_address, address, StringComparison.Ordinal))
        {
            // The actor moves the link to the new address before its next batch.
            _address = address;
            Counters.Address = address;
        }
        if (Counters.State == PeerLinkState.Unreachable)
        {
            Counters.AddDroppedUnreachable(1);
            return false;
        }
        if (!Queue.TryEnqueue(message))
        {
            Counters.AddDroppedQueueFull(1);
            return false;
        }
        // One Wake per burst: senders that find one pending leave their message to the drain it triggers. The
        // actor clears the flag before it drains, so a message queued after the drain always sends a new Wake.
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            Actor!.Tell(PeerLinkActor.Wake.Instance);
        }
        return true;
    }

    /// <summary>Called by the actor before it looks at the queue (see <see cref="Send"/>).</summary>
    public void ClearWake() => Interlocked.Exchange(ref _wakePending, 0);

    /// <summary>Records the address a peer that dialled this node announced, unless this node already sends to it.</summary>
    public void HeardAt(string? address)
    {
        if (address is not null && _address is null)
        {
            Counters.Address = address;
        }
    }

    public PeerLinkStats Snapshot() => Counters.Snapshot(Queue.Count, Queue.Bytes);
}
