using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Memo.Node.Transport;

/// <summary>
/// A peer transport inside one process, for tests: created by <see cref="InMemoryPeerNetwork.CreateTransport"/>,
/// which decides the faults. Same contract as <see cref="AkkaPeerTransport"/> (one bounded queue and one
/// pump per peer, per-link order, drops counted, back-pressure from a full <see cref="Inbound"/>).
/// </summary>
/// <remarks>
/// There are no connections: a link's <see cref="PeerLinkStats.State"/> is Connected after a delivery and
/// Unreachable after a message was cut, <see cref="PeerLinkStats.InboundLinks"/> is always 0, and a batch is
/// one message.
/// </remarks>
public sealed class InMemoryPeerTransport : IPeerTransport
{
    private readonly InMemoryPeerNetwork _network;
    private readonly ConcurrentDictionary<NodeId, InMemoryPeerLink> _links = new();
    private readonly Channel<InboundPeerMessage> _inbound;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _linksLock = new();
    private int _disposed;

    internal InMemoryPeerTransport(InMemoryPeerNetwork network, NodeId node, string address, string networkId, PeerTransportOptions options)
    {
        _network = network;
        LocalNode = node;
        Address = address;
        NetworkId = networkId;
        Options = options;
        _inbound = Channel.CreateBounded<InboundPeerMessage>(new BoundedChannelOptions(options.InboundCapacity)
        {
            SingleReader = false,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <inheritdoc />
    public NodeId LocalNode { get; }

    /// <summary>The address peers send to this node at.</summary>
    public string Address { get; }

    /// <summary>The network this node belongs to.</summary>
    public string NetworkId { get; }

    /// <summary>The transport's limits.</summary>
    public PeerTransportOptions Options { get; }

    /// <inheritdoc />
    public ChannelReader<InboundPeerMessage> Inbound => _inbound.Reader;

    internal InMemoryPeerNetwork Network => _network;

    internal CancellationToken Stopping => _stopping.Token;

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    public bool Send(NodeId to, string address, PeerMessage message)
    {
        PeerSendArguments.Check(LocalNode, to, address, message, Options);
        if (Volatile.Read(ref _disposed) != 0 || GetOrAddLink(to, address) is not { } link)
        {
            return false;
        }
        return link.Send(address, new PeerMessage(message.Channel, message.Shard, message.Body.ToArray()));
    }

    /// <inheritdoc />
    public IReadOnlyList<PeerLinkStats> GetLinkStats() => PeerLinkStats.OrderedByPeer(_links.Values.Select(static l => l.Snapshot()));

    /// <inheritdoc />
    public PeerLinkStats? GetLinkStats(NodeId peer) => _links.TryGetValue(peer, out var link) ? link.Snapshot() : null;

    /// <inheritdoc />
    /// <remarks>In memory, a connection ends when the peer goes down (its transport is disposed) or a message already
    /// handed to the link could not be delivered; cuts and loss injected by the network end none, as a partition
    /// ends no TCP connection until a failure detector says so.</remarks>
    public CancellationToken ConnectionLost(NodeId peer) =>
        !IsDisposed && _links.TryGetValue(peer, out var link) ? link.Counters.Connection : CancellationToken.None;

    /// <summary>Ends the connection of this node's link to <paramref name="peer"/>, if it has one (the peer went down).</summary>
    internal void PeerWentDown(NodeId peer)
    {
        if (_links.TryGetValue(peer, out var link))
        {
            link.Counters.EndConnection();
        }
    }

    /// <summary>Takes the node off the network (its address becomes unreachable), stops its pumps and completes <see cref="Inbound"/>.</summary>
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
        _network.Remove(this);
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var link in _links.Values)
        {
            await link.DisposeAsync().ConfigureAwait(false);
            link.Counters.EndConnection();
        }
        _inbound.Writer.TryComplete();
    }

    /// <summary>Hands a message from <paramref name="from"/> to <see cref="Inbound"/>, waiting while it is full.</summary>
    /// <exception cref="ChannelClosedException">This transport is disposed.</exception>
    internal async ValueTask DeliverAsync(InMemoryPeerTransport from, PeerMessage message, CancellationToken cancellationToken)
    {
        var inbound = new InboundPeerMessage(from.LocalNode, message);
        if (!_inbound.Writer.TryWrite(inbound))
        {
            await _inbound.Writer.WriteAsync(inbound, cancellationToken).ConfigureAwait(false);
        }
        GetOrAddLink(from.LocalNode, from.Address)?.Counters.AddReceived(1);
    }

    private InMemoryPeerLink? GetOrAddLink(NodeId peer, string address)
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
            if (_disposed != 0 || _links.Count >= Options.MaxPeers)
            {
                return null;
            }
            link = new InMemoryPeerLink(this, peer, address);
            _links[peer] = link;
            return link;
        }
    }
}
