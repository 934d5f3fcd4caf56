using Akka.Actor;
using Google.Protobuf;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// What <see cref="AkkaPeerTransport.Send"/> callers and one <see cref="PeerLinkActor"/> share about one peer:
/// the bounded queue, the counters, the address to reach the peer at, a flag that keeps the actor's mailbox
/// to one wake-up per burst of sends, and, while the link is connected, the route its batches take. The
/// connection's life (hello, failures, backoff) lives inside the actor.
/// </summary>
/// <remarks>
/// Sending on the caller's thread: while the link is connected and quiet (no flush drained more than one message in
/// the last 200 ms) and no other thread is flushing it, a send drains the queue into a batch and tells it to the
/// peer's inbox at once, instead of waking the actor. The latency probe showed
/// why: a shard leader commits its log on its own thread right after queuing its appends (SqliteSilo's inline
/// commit), and the actor's wake, queued on that busy thread, left only after the commit (0.2 ms), so the follower's
/// copy no longer overlapped the leader's. A sender that finds the gate held leaves its message to the flush in
/// progress or to the actor, so a busy link still sends one batch for many messages. Every flush (inline or the
/// actor's) drains under one gate and tells under it, so batches reach Akka in queue order.
/// <para>Coalescing on a busy link (<see cref="PeerTransportOptions.CoalesceBusyLinks"/>): while the link is busy (a flush
/// drained more than one message within the last 200 ms) and work is queued on the thread pool, the wake is not told at
/// once but from a work item at the back of the thread pool's global queue. What was already queued there runs first
/// (other shards' turns, which queue their own messages to this peer), and the flush that follows takes all of it: one
/// Akka.Remote message, one endpoint-writer turn, one socket write and one inbox turn at the peer for many Raft
/// messages. Measured on three nodes at 64 callers (docs/performance.md, "Where a three-node put's CPU goes"): 1.4
/// messages per batch before, 13–25 after. With nothing queued there is nothing to wait for, and the extra hop only
/// delayed a lone put's append behind its leader's own commit on the sending thread (one caller: p50 +13–48% in the
/// first version, without this check), so the wake is told at once, as it is on an idle link.</para>
/// </remarks>
internal sealed class AkkaPeerLink
{
    private readonly Lock _flushGate = new();
    private readonly List<PeerMessage> _drained = [];
    private readonly NodeId _localNode;
    private readonly PeerTransportOptions _options;
    private volatile string? _address;
    private volatile IActorRef? _actor;
    private volatile LinkRoute? _route;
    private int _wakePending;
    // When a flush last drained more than one message (Environment.TickCount64); see IsBusy.
    private long _lastBusy = long.MinValue / 2;
    private readonly long _busyWindowMs;
    private readonly Action<IActorRef> _deferWake;
    private readonly Func<bool> _workQueued;

    /// <param name="peer">The peer this link sends to.</param>
    /// <param name="localNode">This node.</param>
    /// <param name="options">The transport's limits.</param>
    /// <param name="deferWake">How a busy link's wake gets behind the work already queued (see the remarks); tells the
    /// given actor a <see cref="PeerLinkActor.Wake"/> later.</param>
    /// <param name="workQueued">Whether work is queued on the thread pool (that a deferred wake would wait behind).</param>
    public AkkaPeerLink(NodeId peer, NodeId localNode, PeerTransportOptions options, Action<IActorRef> deferWake, Func<bool> workQueued)
    {
        Peer = peer;
        _localNode = localNode;
        _options = options;
        _busyWindowMs = (long)options.BusyWindow.TotalMilliseconds;
        _deferWake = deferWake;
        _workQueued = workQueued;
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
        if (_options.InlineFlush && _route is { } route && string.Equals(route.Address, address, StringComparison.Ordinal)
            && !IsBusy && _flushGate.TryEnter())
        {
            try
            {
                // Re-read under the gate: the actor withdraws the route under it when the connection ends.
                if (_route is { } current)
                {
                    FlushLocked(current);
                }
            }
            finally
            {
                _flushGate.Exit();
            }
            if (Queue.Count == 0)
            {
                return true;
            }
        }
        // One Wake per burst: senders that find one pending leave their message to the drain it triggers. The
        // actor clears the flag before it drains, so a message queued after the drain always sends a new Wake.
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            if (_options.CoalesceBusyLinks && IsBusy && _workQueued())
            {
                _deferWake(Actor!);
            }
            else
            {
                Actor!.Tell(PeerLinkActor.Wake.Instance);
            }
        }
        return true;
    }

    // Busy: a flush drained more than one message within the busy window. Batching then beats sending each message on
    // its own (measured at 64 callers: one Akka message per Raft message cost the servers more CPU per put than the
    // wake-ups it saved), so inline sends pause and wakes wait behind queued work.
    private bool IsBusy => Environment.TickCount64 - Volatile.Read(ref _lastBusy) < _busyWindowMs;

    /// <summary>
    /// Where batches go while the link is connected, or null: set by the actor when a hello is answered (and when the
    /// peer refreshes its link key), withdrawn when the connection ends. Changed under the flush gate, so no flush
    /// uses a route after the actor withdrew it.
    /// </summary>
    public LinkRoute? Route
    {
        get => _route;
        set
        {
            lock (_flushGate)
            {
                _route = value;
            }
        }
    }

    /// <summary>
    /// Drains up to one batch (<see cref="PeerTransportOptions.MaxBatchMessages"/>, <see cref="PeerTransportOptions.MaxBatchBytes"/>)
    /// and tells it along the route; the actor's flush for each wake. True when more is queued.
    /// </summary>
    public bool Flush()
    {
        lock (_flushGate)
        {
            if (_route is { } route)
            {
                FlushLocked(route);
            }
        }
        return Queue.Count > 0;
    }

    private void FlushLocked(LinkRoute route)
    {
        _drained.Clear();
        Queue.DrainInto(_drained, _options.MaxBatchMessages, _options.MaxBatchBytes);
        if (_drained.Count == 0)
        {
            return;
        }
        if (_drained.Count > 1)
        {
            Volatile.Write(ref _lastBusy, Environment.TickCount64);
        }
        var batch = new PeerBatch { Format = PeerWire.Format, FromNode = _localNode.Value, LinkKey = route.LinkKey };
        foreach (var message in _drained)
        {
            batch.Frames.Add(PeerWire.ToFrame(message));
        }
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.LinkFlush, _drained.Count);
        route.Inbox.Tell(batch, route.Sender);
        Counters.AddSent(_drained.Count);
        _drained.Clear();
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

/// <summary>A connected link's destination: the peer's address, its inbox, the link actor as the sender the inbox
/// answers, and the link key the peer gave this node.</summary>
internal sealed record LinkRoute(string Address, IActorRef Inbox, IActorRef Sender, ByteString LinkKey);
