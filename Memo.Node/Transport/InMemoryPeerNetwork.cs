namespace Memo.Node.Transport;

/// <summary>
/// Many <see cref="InMemoryPeerTransport"/>s in one process, connected through a network that tests can
/// break: partitions, one-way blocks, isolation, seeded random loss, and delay on a clock the test controls.
/// </summary>
/// <remarks>
/// <para><b>Model.</b> A transport is "up" at its address from <see cref="CreateTransport"/> until it is
/// disposed; sending to an address where no transport is up, or whose transport is another node or another
/// network, drops the message and counts it (as the gRPC transport does when it cannot connect or is
/// refused). Each sender has one queue and one pump per peer, so the queue limits, the per-link order and
/// the back-pressure of a full <see cref="IPeerTransport.Inbound"/> behave as in the gRPC transport.</para>
/// <para><b>Faults</b> are decided when <see cref="IPeerTransport.Send"/> is called, under one lock, so a
/// test that sends from one thread gets the same outcome for the same seed every run:
/// a cut link (partition, block, isolation) drops the message and counts it as unreachable at the sender;
/// loss drops it silently (as a lost packet would be) and counts it in <see cref="LostMessages"/>; delay
/// holds it until the <see cref="TimeProvider"/> passes send time + delay, then queues it for delivery.
/// A link cut while messages are queued also drops them at delivery. Held messages are released in due
/// order, so a constant delay keeps a link's order; changing the delay can reorder, as real networks do.</para>
/// <para>Bodies are copied on send, so a sender and a receiver never share a buffer.</para>
/// </remarks>
public sealed class InMemoryPeerNetwork
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, InMemoryPeerTransport> _byAddress = new(StringComparer.Ordinal);
    private readonly Dictionary<NodeId, InMemoryPeerTransport> _byNode = [];
    private readonly HashSet<(NodeId From, NodeId To)> _blocked = [];
    private readonly HashSet<NodeId> _isolated = [];
    private readonly Dictionary<(NodeId From, NodeId To), double> _loss = [];
    private readonly Dictionary<(NodeId From, NodeId To), TimeSpan> _delay = [];
    private readonly PriorityQueue<HeldMessage, (DateTimeOffset Due, long Sequence)> _held = new();
    private readonly Random _random;
    private readonly TimeProvider _time;
    private double _defaultLoss;
    private TimeSpan _defaultDelay;
    private long _sequence;
    private long _lost;
    private ITimer? _timer;
    private DateTimeOffset _timerDue;

    /// <summary>Creates an empty network.</summary>
    /// <param name="seed">Seeds the loss decisions; print it in randomised tests.</param>
    /// <param name="timeProvider">The clock delays are measured on; <see cref="TimeProvider.System"/> when null. Tests pass a manual one.</param>
    /// <param name="networkId">The network id of transports created without one.</param>
    public InMemoryPeerNetwork(int seed, TimeProvider? timeProvider = null, string networkId = "memo-test")
    {
        PeerSendArguments.CheckNetworkId(networkId);
        Seed = seed;
        NetworkId = networkId;
        _random = new Random(seed);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The seed of the loss decisions.</summary>
    public int Seed { get; }

    /// <summary>The network id given to transports created without one.</summary>
    public string NetworkId { get; }

    /// <summary>Messages dropped by injected loss since the network was created.</summary>
    public long LostMessages => Interlocked.Read(ref _lost);

    /// <summary>Messages held by an injected delay and not yet released.</summary>
    public int HeldMessages
    {
        get
        {
            lock (_lock)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Brings a node up at <paramref name="address"/>. Dispose the transport to take the node down.</summary>
    /// <param name="node">The node (not <see cref="NodeId.None"/>).</param>
    /// <param name="address">Where peers send to it; <c>memory/{node}</c> when null.</param>
    /// <param name="options">Limits; defaults when null.</param>
    /// <param name="networkId">The node's network; <see cref="NetworkId"/> when null.</param>
    /// <exception cref="InvalidOperationException">Another live transport has the node or the address.</exception>
    /// <exception cref="ArgumentException">An argument or the options are invalid.</exception>
    public InMemoryPeerTransport CreateTransport(NodeId node, string? address = null, PeerTransportOptions? options = null, string? networkId = null)
    {
        if (node.IsNone)
        {
            throw new ArgumentException("The node id cannot be 0.", nameof(node));
        }
        address ??= $"memory/{node}";
        networkId ??= NetworkId;
        PeerSendArguments.CheckNetworkId(networkId);
        options ??= new PeerTransportOptions();
        options.ThrowIfInvalid();
        lock (_lock)
        {
            if (_byNode.ContainsKey(node))
            {
                throw new InvalidOperationException($"Node {node} is already up in this network; dispose its transport first.");
            }
            if (_byAddress.TryGetValue(address, out var other))
            {
                throw new InvalidOperationException($"Address {address} is already used by node {other.LocalNode}.");
            }
            var transport = new InMemoryPeerTransport(this, node, address, networkId, options);
            _byNode[node] = transport;
            _byAddress[address] = transport;
            return transport;
        }
    }

    /// <summary>Cuts both directions between <paramref name="a"/> and <paramref name="b"/> until <see cref="Heal(NodeId, NodeId)"/>.</summary>
    public void Partition(NodeId a, NodeId b)
    {
        lock (_lock)
        {
            _blocked.Add((a, b));
            _blocked.Add((b, a));
        }
    }

    /// <summary>Cuts every link between a node of <paramref name="side"/> and a node of <paramref name="otherSide"/>, both ways.</summary>
    public void Partition(IEnumerable<NodeId> side, IEnumerable<NodeId> otherSide)
    {
        ArgumentNullException.ThrowIfNull(side);
        ArgumentNullException.ThrowIfNull(otherSide);
        var others = otherSide.ToList();
        lock (_lock)
        {
            foreach (var a in side)
            {
                foreach (var b in others)
                {
                    _blocked.Add((a, b));
                    _blocked.Add((b, a));
                }
            }
        }
    }

    /// <summary>Cuts only the direction <paramref name="from"/> → <paramref name="to"/> (an asymmetric partition).</summary>
    public void Block(NodeId from, NodeId to)
    {
        lock (_lock)
        {
            _blocked.Add((from, to));
        }
    }

    /// <summary>Restores both directions between <paramref name="a"/> and <paramref name="b"/> (partitions and blocks; not isolation).</summary>
    public void Heal(NodeId a, NodeId b)
    {
        lock (_lock)
        {
            _blocked.Remove((a, b));
            _blocked.Remove((b, a));
        }
    }

    /// <summary>Cuts <paramref name="node"/> off from every other node, both ways, until <see cref="Rejoin"/>.</summary>
    public void Isolate(NodeId node)
    {
        lock (_lock)
        {
            _isolated.Add(node);
        }
    }

    /// <summary>Ends the isolation of <paramref name="node"/>; partitions and blocks involving it stay.</summary>
    public void Rejoin(NodeId node)
    {
        lock (_lock)
        {
            _isolated.Remove(node);
        }
    }

    /// <summary>Removes every fault: partitions, blocks, isolation, loss and delay. Messages already held are still released when due.</summary>
    public void HealAll()
    {
        lock (_lock)
        {
            _blocked.Clear();
            _isolated.Clear();
            _loss.Clear();
            _delay.Clear();
            _defaultLoss = 0;
            _defaultDelay = TimeSpan.Zero;
        }
    }

    /// <summary>Loses each message on every link with <paramref name="probability"/> (0 to 1), unless a link has its own.</summary>
    public void SetLoss(double probability)
    {
        CheckProbability(probability);
        lock (_lock)
        {
            _defaultLoss = probability;
        }
    }

    /// <summary>Loses each message from <paramref name="from"/> to <paramref name="to"/> with <paramref name="probability"/> (0 to 1).</summary>
    public void SetLoss(NodeId from, NodeId to, double probability)
    {
        CheckProbability(probability);
        lock (_lock)
        {
            _loss[(from, to)] = probability;
        }
    }

    /// <summary>Delays every message on every link by <paramref name="delay"/>, unless a link has its own; zero for none.</summary>
    public void SetDelay(TimeSpan delay)
    {
        CheckDelay(delay);
        lock (_lock)
        {
            _defaultDelay = delay;
        }
    }

    /// <summary>Delays every message from <paramref name="from"/> to <paramref name="to"/> by <paramref name="delay"/>; zero for none.</summary>
    public void SetDelay(NodeId from, NodeId to, TimeSpan delay)
    {
        CheckDelay(delay);
        lock (_lock)
        {
            _delay[(from, to)] = delay;
        }
    }

    /// <summary>
    /// Decides the fate of a message at send time: cut (returns the reason), lost, held for a delay, or
    /// clear to queue. The dice are rolled only on links with loss, so the sequence of decisions for a given
    /// seed depends only on the messages sent on lossy links.
    /// </summary>
    internal SendFate DecideAtSend(InMemoryPeerTransport from, InMemoryPeerLink link, in PeerMessage message, out string? error)
    {
        lock (_lock)
        {
            error = CutReason(from, link.Peer, link.Address, out _);
            if (error is not null)
            {
                return SendFate.Cut;
            }
            double loss = _loss.TryGetValue((from.LocalNode, link.Peer), out var l) ? l : _defaultLoss;
            if (loss > 0 && _random.NextDouble() < loss)
            {
                Interlocked.Increment(ref _lost);
                return SendFate.Lost;
            }
            var delay = _delay.TryGetValue((from.LocalNode, link.Peer), out var d) ? d : _defaultDelay;
            if (delay > TimeSpan.Zero)
            {
                var due = _time.GetUtcNow() + delay;
                _held.Enqueue(new HeldMessage(link, message), (due, _sequence++));
                ScheduleLocked();
                return SendFate.Held;
            }
            return SendFate.Queue;
        }
    }

    /// <summary>Finds the transport a queued message goes to, checking the cuts again; null with the reason when it cannot be delivered.</summary>
    internal InMemoryPeerTransport? ResolveAtDelivery(InMemoryPeerTransport from, NodeId to, string address, out string? error)
    {
        lock (_lock)
        {
            error = CutReason(from, to, address, out var target);
            return target;
        }
    }

    /// <summary>Takes a disposed transport off the network: its address becomes unreachable.</summary>
    internal void Remove(InMemoryPeerTransport transport)
    {
        List<InMemoryPeerTransport> others;
        lock (_lock)
        {
            if (_byNode.TryGetValue(transport.LocalNode, out var current) && current == transport)
            {
                _byNode.Remove(transport.LocalNode);
                _byAddress.Remove(transport.Address);
            }
            others = [.. _byNode.Values];
        }
        // As a peer's TCP connections close when its process dies: whoever waits for its answer stops waiting.
        foreach (var other in others)
        {
            other.PeerWentDown(transport.LocalNode);
        }
    }

    // Caller holds the lock. Null when the message can go to the returned target; else why it cannot.
    private string? CutReason(InMemoryPeerTransport from, NodeId to, string address, out InMemoryPeerTransport? target)
    {
        var sender = from.LocalNode;
        if (_isolated.Contains(sender) || _isolated.Contains(to) || _blocked.Contains((sender, to)))
        {
            target = null;
            return $"the link from node {sender} to node {to} is cut (fault injection)";
        }
        if (!_byAddress.TryGetValue(address, out target))
        {
            return $"nothing answers at {address}";
        }
        if (target.LocalNode != to)
        {
            var actual = target.LocalNode;
            target = null;
            return $"the peer at {address} is node {actual}, not the expected node {to}";
        }
        if (!string.Equals(from.NetworkId, target.NetworkId, StringComparison.Ordinal))
        {
            // Worded as the accepting side of a gRPC link words its refusal.
            var error = $"network id mismatch: node {to} is in network '{target.NetworkId}', node {sender} at {from.Address} is in network '{from.NetworkId}'";
            target = null;
            return error;
        }
        return null;
    }

    // Caller holds the lock: arms the timer for the earliest held message.
    private void ScheduleLocked()
    {
        if (!_held.TryPeek(out _, out var next))
        {
            return;
        }
        if (_timer is not null && _timerDue <= next.Due)
        {
            return;
        }
        _timer?.Dispose();
        _timerDue = next.Due;
        var wait = next.Due - _time.GetUtcNow();
        _timer = _time.CreateTimer(static state => ((InMemoryPeerNetwork)state!).Release(), this, wait < TimeSpan.Zero ? TimeSpan.Zero : wait, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Queues every held message that is due, in due order, at its sender's link.</summary>
    private void Release()
    {
        var due = new List<HeldMessage>();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            while (_held.TryPeek(out var held, out var key) && key.Due <= now)
            {
                _held.Dequeue();
                due.Add(held);
            }
            _timer?.Dispose();
            _timer = null;
            ScheduleLocked();
        }
        foreach (var held in due)
        {
            held.Link.Enqueue(held.Message);
        }
    }

    private static void CheckProbability(double probability)
    {
        if (!(probability >= 0 && probability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "A loss probability is between 0 and 1.");
        }
    }

    private static void CheckDelay(TimeSpan delay)
    {
        if (delay < TimeSpan.Zero || delay > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(delay), delay, "A delay is between zero and one day.");
        }
    }

    private readonly record struct HeldMessage(InMemoryPeerLink Link, PeerMessage Message);
}
