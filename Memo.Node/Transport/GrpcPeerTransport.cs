using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Transport;

/// <summary>
/// The peer transport over standard gRPC: one long-lived <c>memo.peer.PeerService/Link</c> duplex stream per
/// peer this node sends to (Grpc.Net.Client), and the Link method served for peers that send to it
/// (<see cref="Service"/>, hosted by the node's Grpc.AspNetCore server).
/// </summary>
/// <remarks>
/// <para><b>Design note</b> (docs/design/transport.md). Each peer has one <see cref="GrpcPeerLink"/> actor:
/// a bounded queue (<see cref="PeerTransportOptions.QueueCapacity"/> messages,
/// <see cref="PeerTransportOptions.MaxQueuedBytes"/> bytes) and one loop that opens the stream lazily on the
/// first message, then repeatedly drains everything queued (up to the batch limits) into one
/// <c>PeerBatch</c> and writes it. That drain is where messages of many shards to one peer coalesce: the
/// heartbeats of a hundred Raft groups leave as one gRPC message in one write. <see cref="Send"/> only enqueues; a
/// full queue, or a peer that the last attempt could not reach, drops the message and counts it. The
/// transport never retries a message: Raft and gossip resend on their own ticks.</para>
/// <para>Links are per direction: each node dials the peers it sends to, and serves the streams its peers
/// dial. Frames are accepted on either direction of either stream, so a future change that answers on the
/// accepted stream needs no change on the receiving side. Both sides send a hello first (node id, address,
/// network id); the accepting side refuses a link from another network with FAILED_PRECONDITION, and the
/// dialling side drops a link whose peer is not the node it meant to reach.</para>
/// <para>Ordering: one loop writes one stream per peer and one handler reads it, so messages from this node
/// to a peer arrive in send order while the stream stays up. Messages in flight when a stream breaks are
/// lost (counted as dropped if their write failed); the next message reconnects at once, and a failed
/// connection attempt backs off exponentially (with jitter) between
/// <see cref="PeerTransportOptions.ReconnectBackoffMin"/> and <see cref="PeerTransportOptions.ReconnectBackoffMax"/>.</para>
/// <para>Received messages go to <see cref="Inbound"/>; when it is full the handlers stop reading, HTTP/2
/// flow control stops the senders, and their queues fill and drop, so a slow consumer costs bounded memory
/// and the loss is counted where it happens.</para>
/// <para>Lifecycle: create, map <see cref="Service"/> in the node's Grpc.AspNetCore host before it starts,
/// then send. Dispose the transport before stopping the server: disposal ends the accepted streams, which
/// would otherwise hold the server's graceful stop for its whole shutdown timeout.</para>
/// </remarks>
public sealed partial class GrpcPeerTransport : IPeerTransport
{
    private readonly ConcurrentDictionary<NodeId, GrpcPeerLink> _links = new();
    private readonly ConcurrentDictionary<InboundLink, byte> _inboundLinks = new();
    private readonly Channel<InboundPeerMessage> _inbound;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _linksLock = new();
    private readonly Lock _randomLock = new();
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly PeerLinkService _service;
    private int _disposed;
    private int _peerLimitLogged;

    /// <summary>Creates the transport; no connection is made until the first <see cref="Send"/>.</summary>
    /// <param name="localNode">This node (not <see cref="NodeId.None"/>).</param>
    /// <param name="advertisedAddress">The <c>host:port</c> peers reach this node at, sent in every hello.</param>
    /// <param name="networkId">The network this node belongs to; links with other networks are refused.</param>
    /// <param name="options">Limits; see <see cref="PeerTransportOptions.Validate"/>.</param>
    /// <param name="loggerFactory">Where the links log.</param>
    /// <param name="jitter">Source of the reconnect jitter (seed it in tests); <see cref="Random.Shared"/> when null.</param>
    /// <exception cref="ArgumentException">An argument or the options are invalid (all option problems listed).</exception>
    public GrpcPeerTransport(
        NodeId localNode,
        string advertisedAddress,
        string networkId,
        PeerTransportOptions options,
        ILoggerFactory loggerFactory,
        Random? jitter = null)
    {
        if (localNode.IsNone)
        {
            throw new ArgumentException("The local node id cannot be 0.", nameof(localNode));
        }
        ArgumentException.ThrowIfNullOrWhiteSpace(advertisedAddress);
        if (advertisedAddress.Length > PeerWire.MaxAddressLength)
        {
            throw new ArgumentException($"An address is at most {PeerWire.MaxAddressLength} characters.", nameof(advertisedAddress));
        }
        PeerSendArguments.CheckNetworkId(networkId);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.ThrowIfInvalid();
        LocalNode = localNode;
        AdvertisedAddress = advertisedAddress;
        NetworkId = networkId;
        Options = options;
        _random = jitter ?? Random.Shared;
        _logger = loggerFactory.CreateLogger<GrpcPeerTransport>();
        _inbound = Channel.CreateBounded<InboundPeerMessage>(new BoundedChannelOptions(options.InboundCapacity)
        {
            SingleReader = false,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _service = new PeerLinkService(this);
    }

    /// <inheritdoc />
    public NodeId LocalNode { get; }

    /// <summary>The address this node announces in its hellos.</summary>
    public string AdvertisedAddress { get; }

    /// <summary>The network this node belongs to.</summary>
    public string NetworkId { get; }

    /// <summary>The transport's limits.</summary>
    public PeerTransportOptions Options { get; }

    /// <inheritdoc />
    public ChannelReader<InboundPeerMessage> Inbound => _inbound.Reader;

    internal CancellationToken Stopping => _stopping.Token;

    internal ILogger Logger => _logger;

    /// <summary>
    /// The <c>memo.peer.PeerService</c> implementation that accepts peers' Link streams for this transport; the
    /// same instance for the transport's lifetime. Its <c>MaxReceiveMessageSize</c> must be at least
    /// <see cref="PeerTransportOptions.MaxBatchWireBytes"/> (of the peers' options).
    /// </summary>
    // The host serves it with services.AddSingleton(transport.Service) and endpoints.MapGrpcService<PeerLinkService>().
    public PeerLinkService Service => _service;

    /// <inheritdoc />
    public void Send(NodeId to, string address, PeerMessage message)
    {
        PeerSendArguments.Check(LocalNode, to, address, message, Options);
        if (Volatile.Read(ref _disposed) != 0 || FaultInjector?.IsBlocked(LocalNode, to) == true)
        {
            return;
        }
        var link = GetOrAddLink(to, address);
        link?.Send(address, message);
    }

    /// <summary>Test seam: links this injector blocks drop their messages (see <see cref="PeerFaultInjector"/>). Null in production.</summary>
    public PeerFaultInjector? FaultInjector { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<PeerLinkStats> GetLinkStats() => PeerLinkStats.OrderedByPeer(_links.Values.Select(static l => l.Snapshot()));

    /// <inheritdoc />
    public PeerLinkStats? GetLinkStats(NodeId peer) => _links.TryGetValue(peer, out var link) ? link.Snapshot() : null;

    /// <summary>
    /// Stops: ends the accepted streams, stops every link loop (queued messages are discarded), closes the
    /// connections, and completes <see cref="Inbound"/>. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        lock (_linksLock)
        {
            // Under the lock, so no link is added after the loop below takes its snapshot.
            if (_disposed != 0)
            {
                return;
            }
            _disposed = 1;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var inbound in _inboundLinks.Keys)
        {
            await inbound.Done.ConfigureAwait(false);
        }
        foreach (var link in _links.Values)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }
        _inbound.Writer.TryComplete();
        // _stopping is not disposed: handlers racing with disposal may still link to its token.
    }

    /// <summary>Draws the jitter factor in [0.5, 1) for one backoff.</summary>
    internal double NextJitter()
    {
        lock (_randomLock)
        {
            return 0.5 + (_random.NextDouble() / 2);
        }
    }

    /// <summary>Hands the frames of one received batch to <see cref="Inbound"/>, waiting while it is full.</summary>
    internal async ValueTask AcceptFramesAsync(GrpcPeerLink link, Google.Protobuf.Collections.RepeatedField<Wire.PeerFrame> frames, CancellationToken cancellationToken)
    {
        int received = 0;
        int malformed = 0;
        try
        {
            foreach (var frame in frames)
            {
                if (!PeerWire.TryFromFrame(frame, Options.MaxMessageBytes, out var message))
                {
                    malformed++;
                    continue;
                }
                if (FaultInjector?.IsBlocked(link.Peer, LocalNode) == true)
                {
                    continue;
                }
                var inbound = new InboundPeerMessage(link.Peer, message);
                if (!_inbound.Writer.TryWrite(inbound))
                {
                    await _inbound.Writer.WriteAsync(inbound, cancellationToken).ConfigureAwait(false);
                }
                received++;
            }
        }
        finally
        {
            link.Counters.AddReceived(received);
            if (malformed > 0)
            {
                link.Counters.AddMalformed(malformed);
                LogMalformedFrames(_logger, link.Peer, malformed);
            }
        }
    }

    /// <summary>The link to <paramref name="peer"/>, created on first use; null when <see cref="PeerTransportOptions.MaxPeers"/> is reached.</summary>
    internal GrpcPeerLink? GetOrAddLink(NodeId peer, string address)
    {
        if (_links.TryGetValue(peer, out var link))
        {
            return link;
        }
        lock (_linksLock)
        {
            if (_links.TryGetValue(peer, out link))
            {
                return link;
            }
            if (_links.Count >= Options.MaxPeers)
            {
                if (Interlocked.Exchange(ref _peerLimitLogged, 1) == 0)
                {
                    LogPeerLimit(_logger, Options.MaxPeers, peer);
                }
                return null;
            }
            if (Volatile.Read(ref _disposed) != 0)
            {
                return null;
            }
            link = new GrpcPeerLink(this, peer, address);
            _links[peer] = link;
            return link;
        }
    }
}
