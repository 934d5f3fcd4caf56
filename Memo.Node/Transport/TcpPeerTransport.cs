using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Memo.Node.Configuration;
using Memo.Node.Transport.Wire;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Transport;

/// <summary>
/// The peer transport on plain TCP (optionally mutual TLS): a listener of its own, one connection this node dials to
/// each peer it sends to, and the connections peers dialled to it, read by a dedicated thread each. Frames are a
/// length prefix and a <see cref="PeerBatch"/> (memo_peer.proto), hello first.
/// </summary>
/// <remarks>
/// <para><b>Design note</b> (docs/design/transport.md, "TCP transport"). One connection per direction: a node writes
/// only on connections it dialled and reads only on connections it accepted (after answering the hello), so a link's
/// state machine never races the other side's, and each direction has exactly one writer and one reader. The dialer
/// sends its hello; the acceptor checks it (<see cref="PeerWire.CheckHello"/>: network, not itself; with TLS, the
/// node id must be the client certificate's) and answers with its own, which the dialer checks (the node it meant
/// to reach). Nothing but a hello is read before that, and an accepted connection that proves none within
/// <see cref="PeerTransportOptions.ConnectTimeout"/> is closed.</para>
/// <para>Threads: a send writes on the caller's thread when no write is running (see <see cref="TcpPeerLink"/>); each
/// accepted connection has a thread that blocks in reads and writes <see cref="Inbound"/> in arrival order, waiting
/// when it is full (so TCP slows the sender down and its queue drops, as the contract allows).</para>
/// <para>Lifecycle: the listener binds in the constructor (its port is known before the node advertises it);
/// <see cref="DisposeAsync"/> closes every connection and the listener and completes <see cref="Inbound"/>.</para>
/// </remarks>
public sealed partial class TcpPeerTransport : IPeerTransport
{
    /// <summary>Bytes a read thread's buffer holds: several small batches per system call.</summary>
    private const int ReadBufferBytes = 64 * 1024;

    private readonly ConcurrentDictionary<NodeId, TcpPeerLink> _links = new();
    private readonly ConcurrentDictionary<Accepted, byte> _accepted = new();
    private readonly Channel<InboundPeerMessage> _inbound;
    private readonly Lock _linksLock = new();
    private readonly Lock _randomLock = new();
    private readonly Random _random;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private readonly int _frameLimit;
    private readonly int _maxAccepted;
    private int _disposed;
    private int _peerLimitLogged;
    private long _refusedConnections;
    private long _closedForErrors;

    /// <summary>Binds <paramref name="listen"/> and starts accepting peers; no connection is dialled until the first <see cref="Send"/>.</summary>
    /// <param name="localNode">This node (not <see cref="NodeId.None"/>).</param>
    /// <param name="networkId">The network this node belongs to; a peer of another network is refused.</param>
    /// <param name="listen">Where to listen (port 0: a free port, see <see cref="ListenEndPoint"/>).</param>
    /// <param name="advertisedAddress">The <c>host:port</c> peers reach this node at, sent in hellos; null: the bound
    /// address and port.</param>
    /// <param name="options">Limits; see <see cref="PeerTransportOptions.Validate"/>. The Akka-only switches
    /// (<see cref="PeerTransportOptions.InlineFlush"/>, <see cref="PeerTransportOptions.CoalesceBusyLinks"/>) do not apply.</param>
    /// <param name="loggerFactory">Where links and connections log.</param>
    /// <param name="tls">Mutual TLS with the network's certificates; null: plain TCP.</param>
    /// <param name="jitter">Source of the reconnect jitter (seed it in tests); <see cref="Random.Shared"/> when null.</param>
    /// <exception cref="ArgumentException">An argument or the options are invalid.</exception>
    /// <exception cref="SocketException">The listen address cannot be bound.</exception>
    public TcpPeerTransport(
        NodeId localNode,
        string networkId,
        IPEndPoint listen,
        string? advertisedAddress,
        PeerTransportOptions options,
        ILoggerFactory loggerFactory,
        TcpPeerTls? tls = null,
        Random? jitter = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (localNode.IsNone)
        {
            throw new ArgumentException("The local node id cannot be 0.", nameof(localNode));
        }
        options.ThrowIfInvalid();
        PeerSendArguments.CheckNetworkId(networkId);
        LocalNode = localNode;
        NetworkId = networkId;
        Options = options;
        Tls = tls;
        Logger = loggerFactory.CreateLogger<TcpPeerTransport>();
        _random = jitter ?? Random.Shared;
        _frameLimit = TcpPeerFrames.Limit(options);
        _maxAccepted = (int)Math.Min(int.MaxValue, 2L * options.MaxPeers);
        _inbound = Channel.CreateBounded<InboundPeerMessage>(new BoundedChannelOptions(options.InboundCapacity)
        {
            SingleReader = false,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            // The consumer's continuation runs on the read thread that wrote, not after a hop through the thread pool:
            // serial round trips 34–38 µs p50 instead of 73–88 (--peer-rtt, quiet box). The node's consumer (its
            // inbound pump) only hands messages on (replica mailboxes, forwarded calls' completions, which run their
            // own continuations asynchronously), and writes never block here, so the read thread is not held long.
            AllowSynchronousContinuations = true,
        });
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (listen.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _listener.DualMode = true;
            }
            _listener.Bind(listen);
            _listener.Listen(128);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        ListenEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        AdvertisedAddress = advertisedAddress ?? NodeOptions.FormatHostPort(ListenEndPoint.Address.ToString(), ListenEndPoint.Port);
        if (AdvertisedAddress.Length > PeerWire.MaxAddressLength)
        {
            _listener.Dispose();
            throw new ArgumentException($"A peer address is at most {PeerWire.MaxAddressLength} characters.", nameof(advertisedAddress));
        }
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <inheritdoc />
    public NodeId LocalNode { get; }

    /// <summary>The network this node belongs to.</summary>
    public string NetworkId { get; }

    /// <summary>Where the listener is bound (the real port when 0 was asked for).</summary>
    public IPEndPoint ListenEndPoint { get; }

    /// <summary>The <c>host:port</c> this node's hellos announce.</summary>
    public string AdvertisedAddress { get; }

    /// <summary>The transport's limits.</summary>
    public PeerTransportOptions Options { get; }

    /// <summary>The certificates of mutual TLS; null for plain TCP.</summary>
    public TcpPeerTls? Tls { get; }

    /// <summary>
    /// Messages received from peers, in per-peer order. Bounded; when it is full, the connections' read threads wait,
    /// TCP slows the senders down and their queues drop. Completes when the transport is disposed.
    /// </summary>
    public ChannelReader<InboundPeerMessage> Inbound => _inbound.Reader;

    /// <summary>Test seam: links this injector blocks drop their messages on both sides, and lost kinds are dropped on
    /// arrival (<see cref="PeerFaultInjector"/>), exactly as on <see cref="AkkaPeerTransport"/>. Null in production.</summary>
    public PeerFaultInjector? FaultInjector { get; set; }

    /// <summary>Accepted connections closed at once because <see cref="PeerTransportOptions.MaxPeers"/> × 2 were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedConnections);

    /// <summary>Connections closed for a protocol error: no valid hello in time, a refused hello or certificate, a
    /// frame over the limit, bytes that are not a batch, or a batch that breaks the link's rules.</summary>
    public long ClosedForErrors => Interlocked.Read(ref _closedForErrors);

    internal ILogger Logger { get; }

    /// <inheritdoc />
    public bool Send(NodeId to, string address, PeerMessage message)
    {
        PeerSendArguments.Check(LocalNode, to, address, message, Options);
        if (Volatile.Read(ref _disposed) != 0 || FaultInjector?.IsBlocked(LocalNode, to) == true)
        {
            return false;
        }
        return GetOrAddLink(to) is { } link && link.Send(address, message);
    }

    /// <inheritdoc />
    public CancellationToken ConnectionLost(NodeId peer) =>
        Volatile.Read(ref _disposed) == 0 && _links.TryGetValue(peer, out var link) ? link.Counters.Connection : CancellationToken.None;

    /// <inheritdoc />
    public IReadOnlyList<PeerLinkStats> GetLinkStats() => PeerLinkStats.OrderedByPeer(_links.Values.Select(static l => l.Snapshot()));

    /// <inheritdoc />
    public PeerLinkStats? GetLinkStats(NodeId peer) => _links.TryGetValue(peer, out var link) ? link.Snapshot() : null;

    /// <summary>Closes the listener and every connection (queued messages are discarded) and completes <see cref="Inbound"/>. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_linksLock)
        {
            if (_disposed != 0)
            {
                return;
            }
            _disposed = 1;
        }
        _stopping.Cancel();
        _listener.Dispose();
        foreach (var link in _links.Values)
        {
            link.Dispose();
        }
        foreach (var accepted in _accepted.Keys)
        {
            accepted.Close();
        }
        _inbound.Writer.TryComplete();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The accept loop ends by cancellation.
        }
        foreach (var accepted in _accepted.Keys)
        {
            accepted.Join(TimeSpan.FromSeconds(5));
        }
        _stopping.Dispose();
    }

    /// <summary>This node's hello: the first frame of every connection it dials, and its answer to a peer's.</summary>
    internal PeerBatch Hello() => PeerWire.Hello(LocalNode, AdvertisedAddress, NetworkId);

    /// <summary>Draws the jitter factor in [0.5, 1) for one backoff.</summary>
    internal double NextJitter()
    {
        lock (_randomLock)
        {
            return 0.5 + (_random.NextDouble() / 2);
        }
    }

    /// <summary>An established outbound connection: the socket and the stream written on (TLS or not).</summary>
    internal sealed class Connection(Socket socket, Stream stream) : IDisposable
    {
        public Stream Stream { get; } = stream;

        public void Dispose()
        {
            // The socket first: a write or read in progress on another thread fails at once.
            socket.Dispose();
            Stream.Dispose();
        }
    }

    /// <summary>Why a connection attempt failed, in words for <see cref="PeerLinkStats.LastError"/>.</summary>
    internal sealed class DialException(string message) : Exception(message);

    /// <summary>
    /// Dials <paramref name="peer"/> at <paramref name="address"/>: TCP, TLS when configured (the server must present
    /// the peer's certificate), this node's hello, and the answer checked. Within <see cref="PeerTransportOptions.ConnectTimeout"/>.
    /// </summary>
    /// <exception cref="DialException">The attempt failed; the message says why.</exception>
    internal async Task<Connection> DialAsync(NodeId peer, string address)
    {
        if (!NodeOptions.TryParseHostPort(address, out var host, out int port) || port == 0)
        {
            throw new DialException($"'{address}' is not a peer endpoint host:port");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(Options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        string? refusal = null;
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(tls.ClientOptions(peer, reason => refusal = reason), timeout.Token).ConfigureAwait(false);
            }
            await TcpPeerFrames.WriteAsync(stream, Hello(), timeout.Token).ConfigureAwait(false);
            var (answer, error) = await TcpPeerFrames.ReadAsync(stream, _frameLimit, timeout.Token).ConfigureAwait(false);
            if (answer is null)
            {
                throw new DialException($"the peer at {address} gave no hello: {error}");
            }
            var check = PeerWire.CheckHello(answer, LocalNode, NetworkId, peer);
            if (!check.Accepted)
            {
                throw new DialException(check.Error!);
            }
            return new Connection(socket, stream);
        }
        catch (Exception e) when (e is not DialException)
        {
            Close(socket, stream);
            throw new DialException(e switch
            {
                OperationCanceledException when _stopping.IsCancellationRequested => "the transport is stopping",
                OperationCanceledException => $"no hello answer from {address} within {Options.ConnectTimeout}",
                AuthenticationException when refusal is not null => $"TLS with {address} refused: {refusal}",
                _ => $"{address}: {e.Message}",
            });
        }
        catch
        {
            Close(socket, stream);
            throw;
        }
    }

    /// <summary>The link of <paramref name="peer"/>, created on first use; null at the peer limit or after disposal.</summary>
    private TcpPeerLink? GetOrAddLink(NodeId peer)
    {
        if (_links.TryGetValue(peer, out var link))
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
                if (_links.Count >= Options.MaxPeers)
                {
                    if (Interlocked.Exchange(ref _peerLimitLogged, 1) == 0)
                    {
                        LogPeerLimit(Logger, Options.MaxPeers, peer);
                    }
                    return null;
                }
                link = new TcpPeerLink(this, peer);
                _links[peer] = link;
            }
            return link;
        }
    }

    private static void Close(Socket socket, Stream? stream)
    {
        socket.Dispose();
        stream?.Dispose();
    }
}
