using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Remote;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Memo.Node.Transport.Wire;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Transport;

/// <summary>
/// The peer transport on Akka.Remote: one <see cref="PeerLinkActor"/> per peer this node sends to, one
/// <see cref="PeerInboxActor"/> at the well-known path <c>/user/memo-peer-inbox</c> that every peer's links send
/// to, and <see cref="PeerWireSerializer"/> (protobuf) for every message that crosses the wire.
/// </summary>
/// <remarks>
/// <para><b>Design note</b> (docs/design/transport.md, "Akka.Remote transport"). The host creates the
/// <see cref="ActorSystem"/>: named after the network id (Akka delivers only to a system of the same name, so the
/// name is the network check), with remoting bound (<c>akka.actor.provider = remote</c> or <c>cluster</c>) and
/// <see cref="DefaultConfig"/> (or <see cref="CreateConfig"/> for other options) merged as a fallback. A peer's
/// address is its remoting endpoint <c>host:port</c>, exactly as that node's remoting announces it; the link sends
/// to <c>akka.tcp://{network}@{host}:{port}/user/memo-peer-inbox</c>.</para>
/// <para>Batching: <see cref="Send"/> only enqueues into the peer's bounded queue and wakes its link actor once
/// per burst; the actor drains everything queued (up to the batch limits) into one <see cref="PeerBatch"/>, one
/// Akka message. That is where the heartbeats of every Raft group to one peer coalesce; the measured cost of one
/// Akka message per frame (a fifth of the throughput) is why batching is not optional here.</para>
/// <para>Each link says hello first (node id, address, network): the answer proves which node is at the address;
/// the association's end sends the link back to say hello again (no DeathWatch: with plain remoting it would
/// quarantine the pair after a 10 s partition). Loss is counted where it happens: <see cref="PeerLinkStats.DroppedQueueFull"/> and
/// <see cref="PeerLinkStats.DroppedUnreachable"/> at the sender, and, because Akka cannot slow a remote sender
/// down, <see cref="PeerLinkStats.DroppedInboundFull"/> at the receiver when <see cref="Inbound"/> is full.</para>
/// <para>Ordering: one link actor tells one inbox, Akka.Remote keeps that pair's order on its one connection, and
/// the inbox writes <see cref="Inbound"/> in arrival order. Messages in flight when a connection breaks are lost
/// (Akka's endpoint buffers are dropped); the transport never retries.</para>
/// <para>Lifecycle: create after the ActorSystem starts, send, consume <see cref="Inbound"/>; dispose before
/// terminating the ActorSystem (disposal stops this transport's actors and completes <see cref="Inbound"/>; it
/// does not touch the system).</para>
/// </remarks>
public sealed partial class AkkaPeerTransport : IPeerTransport
{
    private readonly ActorSystem _system;
    private readonly Func<Address, IActorRef> _resolveInbox;
    private readonly ConcurrentDictionary<NodeId, AkkaPeerLink> _links = new();
    private readonly Channel<InboundPeerMessage> _inbound;
    private readonly Lock _linksLock = new();
    private readonly Lock _randomLock = new();
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly string _protocol;
    private readonly IActorRef _inbox;
    private int _disposed;
    private long _unauthenticated;
    // Generated per incarnation: a restarted node derives other link keys, and its peers learn them with the next hello.
    private readonly byte[] _linkSecret = RandomNumberGenerator.GetBytes(32);
    private const int LinkKeyBytes = 16;
    private int _peerLimitLogged;
    private long _misattributed;
    private long _inboundFullLoggedAt = long.MinValue;

    /// <summary>Creates the transport and its inbox actor on <paramref name="system"/>; no link is made until the first <see cref="Send"/>.</summary>
    /// <param name="system">
    /// The node's actor system: remoting bound (its default address has a host and port), named after the network id,
    /// and configured with <see cref="DefaultConfig"/> (or <see cref="CreateConfig"/> of <paramref name="options"/>) as a
    /// fallback, so that <see cref="PeerWireSerializer"/> is bound and the frame size holds the largest batch.
    /// </param>
    /// <param name="localNode">This node (not <see cref="NodeId.None"/>).</param>
    /// <param name="options">Limits; see <see cref="PeerTransportOptions.Validate"/>. Keep-alive and hello-timeout settings do not apply (Akka's failure detectors do that work).</param>
    /// <param name="loggerFactory">Where the links and the inbox log.</param>
    /// <param name="jitter">Source of the reconnect jitter (seed it in tests); <see cref="Random.Shared"/> when null.</param>
    /// <exception cref="ArgumentException">An argument or the options are invalid, or the system lacks remoting, the serializer binding or a large enough frame size.</exception>
    /// <exception cref="InvalidActorNameException">The system already runs a peer transport.</exception>
    public AkkaPeerTransport(ActorSystem system, NodeId localNode, PeerTransportOptions options, ILoggerFactory loggerFactory, Random? jitter = null)
        : this(system, localNode, options, loggerFactory, jitter, resolveInbox: null)
    {
    }

    /// <summary>Test seam: <paramref name="resolveInbox"/> replaces the peers' inboxes (a TestProbe stands in for them).</summary>
    internal AkkaPeerTransport(
        ActorSystem system,
        NodeId localNode,
        PeerTransportOptions options,
        ILoggerFactory loggerFactory,
        Random? jitter,
        Func<Address, IActorRef>? resolveInbox)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (localNode.IsNone)
        {
            throw new ArgumentException("The local node id cannot be 0.", nameof(localNode));
        }
        options.ThrowIfInvalid();
        PeerSendArguments.CheckNetworkId(system.Name);
        if (system is not ExtendedActorSystem extended || extended.Provider is not IRemoteActorRefProvider remoting)
        {
            throw new ArgumentException(
                $"The actor system '{system.Name}' has no remoting: set akka.actor.provider = remote (or cluster) before it starts.", nameof(system));
        }
        var own = extended.Provider.DefaultAddress;
        if (Cluster.Runtime.AkkaHostPort.Of(own) is not { } advertised)
        {
            throw new ArgumentException($"The actor system's address {own} has no host and port: remoting is not bound.", nameof(system));
        }
        CheckSystemConfig(system, options);
        _system = system;
        _protocol = own.Protocol;
        AssociationGate = remoting.RemoteSettings.RetryGateClosedFor;
        _resolveInbox = resolveInbox ?? (address => extended.Provider.ResolveActorRef(new RootActorPath(address) / "user" / PeerInboxActor.Name));
        LocalNode = localNode;
        NetworkId = system.Name;
        AdvertisedAddress = advertised;
        Options = options;
        _random = jitter ?? Random.Shared;
        _logger = loggerFactory.CreateLogger<AkkaPeerTransport>();
        _inbound = Channel.CreateBounded<InboundPeerMessage>(new BoundedChannelOptions(options.InboundCapacity)
        {
            SingleReader = false,
            // Only the inbox actor writes; TryWrite keeps it from ever waiting.
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _inbox = system.ActorOf(PeerInboxActor.Props(this), PeerInboxActor.Name);
        // Here rather than in the inbox's PreStart: an association that happens between ActorOf and PreStart would
        // otherwise go unseen, and the transport is live once its constructor returns.
        system.EventStream.Subscribe(_inbox, typeof(AssociatedEvent));
        system.EventStream.Subscribe(_inbox, typeof(DisassociatedEvent));
        system.EventStream.Subscribe(_inbox, typeof(AssociationErrorEvent));
    }

    /// <inheritdoc />
    public NodeId LocalNode { get; }

    /// <summary>The network this node belongs to: the actor system's name.</summary>
    public string NetworkId { get; }

    /// <summary>The remoting endpoint (<c>host:port</c>) peers reach this node at, as the system announces it.</summary>
    public string AdvertisedAddress { get; }

    /// <summary>The transport's limits.</summary>
    public PeerTransportOptions Options { get; }

    /// <summary>
    /// Messages received from peers, in per-peer order. Bounded; when it is full, received messages are dropped and
    /// counted in <see cref="PeerLinkStats.DroppedInboundFull"/> (Akka cannot slow a remote sender down). Completes
    /// when the transport is disposed.
    /// </summary>
    public ChannelReader<InboundPeerMessage> Inbound => _inbound.Reader;

    internal ILogger Logger => _logger;

    /// <summary>How long Akka.Remote drops everything sent to an address after its association failed or ended (<c>akka.remote.retry-gate-closed-for</c>).</summary>
    internal TimeSpan AssociationGate { get; }

    /// <inheritdoc />
    public bool Send(NodeId to, string address, PeerMessage message)
    {
        PeerSendArguments.Check(LocalNode, to, address, message, Options);
        if (Volatile.Read(ref _disposed) != 0 || FaultInjector?.IsBlocked(LocalNode, to) == true)
        {
            return false;
        }
        return GetOrAddSendingLink(to)?.Send(address, message) ?? false;
    }

    /// <summary>
    /// The remoting endpoint (host:port) of the cluster member a NodeId belongs to, or null when it is not a member; set
    /// by the node once its membership runs. A batch names its sender's NodeId itself, so without this any process
    /// the network admits could speak for another node: a batch whose NodeId does not belong to the member at the
    /// address it came from is dropped. Null (tests of the transport alone) checks nothing.
    /// </summary>
    public Func<NodeId, string?>? MemberAddressOf { get; set; }

    /// <summary>Batches dropped because their NodeId belongs to another member than the one that sent them.</summary>
    public long MisattributedBatches => Interlocked.Read(ref _misattributed);

    /// <summary>True when a batch claiming <paramref name="from"/> may come from <paramref name="senderHostPort"/>;
    /// counts and logs (rate-limited) the ones that may not.</summary>
    internal bool SenderMatches(NodeId from, string? senderHostPort)
    {
        if (MemberAddressOf is not { } addressOf)
        {
            return true;
        }
        var expected = addressOf(from);
        if (expected is not null && senderHostPort is not null && string.Equals(expected, senderHostPort, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (Interlocked.Increment(ref _misattributed) % 1000 == 1)
        {
            LogMisattributedBatch(Logger, senderHostPort ?? "(local)", from, expected ?? "(not a member)", Interlocked.Read(ref _misattributed));
        }
        return false;
    }

    /// <summary>Test seam: links this injector blocks drop their messages, on the sending and on the receiving side
    /// (see <see cref="PeerFaultInjector"/>). Null in production.</summary>
    public PeerFaultInjector? FaultInjector { get; set; }

    /// <summary>Test seam: replaces where a busy link's wake waits (<see cref="AkkaPeerLink"/>, "Coalescing on a busy
    /// link") before it is told; null in production (the back of the thread pool's global queue).</summary>
    internal Action<IActorRef>? WakeDeferral { get; set; }

    /// <summary>Test seam: replaces the check for work queued on the thread pool that a busy link's wake would wait
    /// behind; null in production (<see cref="ThreadPool.PendingWorkItemCount"/>).</summary>
    internal Func<bool>? QueuedWork { get; set; }

    private bool WorkQueued() => QueuedWork is { } queued ? queued() : ThreadPool.PendingWorkItemCount > 0;

    // The wake is told from a work item queued globally (not on this thread's local queue, which the thread would serve
    // first), the route ReplicaInbox.Wake takes for the same reason.
    private void DeferWake(IActorRef link)
    {
        if (WakeDeferral is { } deferral)
        {
            deferral(link);
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static actor => actor.Tell(PeerLinkActor.Wake.Instance), link, preferLocal: false);
    }

    /// <inheritdoc />
    public IReadOnlyList<PeerLinkStats> GetLinkStats() => PeerLinkStats.OrderedByPeer(_links.Values.Select(static l => l.Snapshot()));

    /// <inheritdoc />
    public PeerLinkStats? GetLinkStats(NodeId peer) => _links.TryGetValue(peer, out var link) ? link.Snapshot() : null;

    /// <inheritdoc />
    public CancellationToken ConnectionLost(NodeId peer) =>
        Volatile.Read(ref _disposed) == 0 && _links.TryGetValue(peer, out var link) ? link.Counters.Connection : CancellationToken.None;

    /// <summary>
    /// Stops the inbox and every link actor (queued messages are discarded) and completes <see cref="Inbound"/>.
    /// The actor system keeps running. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        lock (_linksLock)
        {
            // Under the lock, so no link actor is created after the snapshot below.
            if (_disposed != 0)
            {
                return;
            }
            _disposed = 1;
        }
        var actors = _links.Values.Select(static l => l.Actor).OfType<IActorRef>().Append(_inbox).ToList();
        if (!_system.WhenTerminated.IsCompleted)
        {
            await Task.WhenAll(actors.Select(StopAsync)).ConfigureAwait(false);
        }
        foreach (var link in _links.Values)
        {
            link.Queue.Clear();
            link.Counters.State = PeerLinkState.Idle;
            link.Counters.EndConnection();
        }
        _inbound.Writer.TryComplete();
    }

    /// <summary>The wire hello of this node: the first message of each link, and the answer to a peer's.</summary>
    internal PeerBatch Hello() => PeerWire.Hello(LocalNode, AdvertisedAddress, NetworkId);

    /// <summary>The answer to <paramref name="asker"/>'s hello from <paramref name="askerHostPort"/>: this node's hello
    /// with the link key the asker must put in its batches.</summary>
    internal PeerBatch HelloAnswer(NodeId asker, string? askerHostPort)
    {
        var answer = Hello();
        answer.Hello.LinkKey = UnsafeByteOperations.UnsafeWrap(LinkKey(asker, askerHostPort));
        return answer;
    }

    /// <summary>
    /// True when <paramref name="key"/> is this node's link key for <paramref name="from"/> at
    /// <paramref name="senderHostPort"/>; else the batch is counted in <see cref="UnauthenticatedBatches"/> and logged
    /// (once per 1,000).
    /// </summary>
    internal bool LinkKeyMatches(NodeId from, string? senderHostPort, ReadOnlySpan<byte> key)
    {
        if (key.Length == LinkKeyBytes && CryptographicOperations.FixedTimeEquals(key, LinkKey(from, senderHostPort)))
        {
            return true;
        }
        if (Interlocked.Increment(ref _unauthenticated) % 1000 == 1)
        {
            LogUnauthenticatedBatch(Logger, senderHostPort ?? "(local)", from, Interlocked.Read(ref _unauthenticated));
        }
        return false;
    }

    /// <summary>Batches dropped because they carried no link key, or not the one this node gave that sender at that
    /// address: a process claiming another member's address, or a sender whose key predates this node's restart (it is
    /// sent its key again).</summary>
    public long UnauthenticatedBatches => Interlocked.Read(ref _unauthenticated);

    // HMAC of this incarnation's random secret over (NodeId, host:port): nothing to store per peer (so fake peers cannot
    // fill a table), and a key learnt at one address is worthless at another.
    private byte[] LinkKey(NodeId peer, string? hostPort)
    {
        var address = (hostPort ?? "").ToLowerInvariant();
        var input = new byte[8 + System.Text.Encoding.UTF8.GetByteCount(address)];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(input, peer.Value);
        System.Text.Encoding.UTF8.GetBytes(address, input.AsSpan(8));
        return HMACSHA256.HashData(_linkSecret, input)[..LinkKeyBytes];
    }

    /// <summary>The inbox actor of the node at <paramref name="address"/> (a reference without incarnation: any system running there).</summary>
    internal IActorRef ResolveInbox(Address address) => _resolveInbox(address);

    /// <summary>Turns a peer's <c>host:port</c> into the Akka address of its system (this network's name and protocol).</summary>
    internal bool TryParseAddress(string hostPort, out Address address, out string error)
    {
        address = null!;
        int colon = hostPort.LastIndexOf(':');
        if (colon <= 0
            || !int.TryParse(hostPort.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port is <= 0 or > 65535)
        {
            error = $"'{hostPort}' is not a remoting endpoint host:port";
            return false;
        }
        var host = hostPort[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        address = new Address(_protocol, NetworkId, host, port);
        error = "";
        return true;
    }

    /// <summary>Draws the jitter factor in [0.5, 1) for one backoff.</summary>
    internal double NextJitter()
    {
        lock (_randomLock)
        {
            return 0.5 + (_random.NextDouble() / 2);
        }
    }

    /// <summary>
    /// Hands the frames of one received batch to <see cref="Inbound"/> without waiting.
    /// </summary>
    /// <returns>Frames delivered, dropped because <see cref="Inbound"/> was full, and dropped as malformed.</returns>
    internal (int Received, int InboundFull, int Malformed) Deliver(NodeId from, RepeatedField<PeerFrame> frames)
    {
        if (Volatile.Read(ref _disposed) != 0 || FaultInjector?.IsBlocked(from, LocalNode) == true)
        {
            return (0, 0, 0);
        }
        int received = 0, full = 0, malformed = 0;
        foreach (var frame in frames)
        {
            if (!PeerWire.TryFromFrame(frame, Options.MaxMessageBytes, out var message))
            {
                malformed++;
            }
            else if (FaultInjector?.Loses(from, LocalNode, message.Channel) == true)
            {
                // Lost in flight (test seam): the sender counted it as sent.
            }
            else if (_inbound.Writer.TryWrite(new InboundPeerMessage(from, message)))
            {
                received++;
            }
            else
            {
                full++;
            }
        }
        return (received, full, malformed);
    }

    /// <summary>Logs receiver-side drops, at most once a second: under overload every batch drops.</summary>
    internal void InboundFull(NodeId from, int dropped)
    {
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _inboundFullLoggedAt);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _inboundFullLoggedAt, now, last) == last)
        {
            LogInboundFull(_logger, dropped, from, Options.InboundCapacity);
        }
    }

    /// <summary>A node of another network at <paramref name="address"/> said so: every link sending there reports it.</summary>
    internal void Refused(string address, string error)
    {
        foreach (var link in _links.Values)
        {
            if (link.Actor is { } actor && string.Equals(link.Address, address, StringComparison.Ordinal))
            {
                actor.Tell(new PeerLinkActor.Refused(address, error));
            }
        }
    }

    /// <summary>The counters of a peer that sent to this node; null when <see cref="PeerTransportOptions.MaxPeers"/> is reached.</summary>
    internal AkkaPeerLink? GetOrAddHeardLink(NodeId peer, string? announcedAddress)
    {
        if (!_links.TryGetValue(peer, out var link))
        {
            lock (_linksLock)
            {
                if (!_links.TryGetValue(peer, out link))
                {
                    if (!HasRoomForPeer(peer))
                    {
                        return null;
                    }
                    link = new AkkaPeerLink(peer, LocalNode, Options, DeferWake, WorkQueued);
                    _links[peer] = link;
                }
            }
        }
        link.HeardAt(announcedAddress);
        return link;
    }

    /// <summary>The link to <paramref name="peer"/> with its actor, both created on first use; null when <see cref="PeerTransportOptions.MaxPeers"/> is reached or the transport is disposed.</summary>
    private AkkaPeerLink? GetOrAddSendingLink(NodeId peer)
    {
        if (_links.TryGetValue(peer, out var link) && link.Actor is not null)
        {
            return link;
        }
        lock (_linksLock)
        {
            if (_disposed != 0)
            {
                return null;
            }
            if (!_links.TryGetValue(peer, out link))
            {
                if (!HasRoomForPeer(peer))
                {
                    return null;
                }
                link = new AkkaPeerLink(peer, LocalNode, Options, DeferWake, WorkQueued);
                _links[peer] = link;
            }
            link.Actor ??= _system.ActorOf(PeerLinkActor.Props(link, this), "memo-peer-link-" + peer.Value.ToString(CultureInfo.InvariantCulture));
            return link;
        }
    }

    private bool HasRoomForPeer(NodeId peer)
    {
        if (_links.Count < Options.MaxPeers)
        {
            return true;
        }
        if (Interlocked.Exchange(ref _peerLimitLogged, 1) == 0)
        {
            LogPeerLimit(_logger, Options.MaxPeers, peer);
        }
        return false;
    }

    private static async Task StopAsync(IActorRef actor)
    {
        try
        {
            await actor.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TaskCanceledException)
        {
            // Did not stop in time (the system is shutting down under us): nothing more to do for it.
        }
    }
}
