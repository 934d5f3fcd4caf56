using Akka.Actor;
using Akka.Remote;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// The one well-known actor (<c>/user/memo-peer-inbox</c>) every peer's link sends to: answers hellos, hands the
/// frames of each batch to <see cref="AkkaPeerTransport.Inbound"/> in arrival order, and tells nodes of other
/// networks that reach it which network this is.
/// </summary>
/// <remarks>
/// <para>Akka.Remote keeps the order of one sender's messages to one receiver, and this single actor writes
/// <c>Inbound</c> in the order it receives, so per-peer order holds end to end.</para>
/// <para>No back-pressure: a remote sender cannot be slowed down from here (Akka keeps reading the connection
/// and queues into this mailbox), so a frame that finds <c>Inbound</c> full is dropped and counted in the
/// sender's <see cref="PeerLinkStats.DroppedInboundFull"/> on this node. Blocking here instead would stall every
/// peer's traffic and let this mailbox grow without bound.</para>
/// <para>Another network: Akka drops (and logs) a message addressed to a system of another name, so a node of
/// another network never sees our answer nor we its hello. What this node does see is the association: when a
/// system of another name associates, the inbox tells that system's inbox this node's hello, and its links to this
/// address report the network mismatch (as the gRPC transport's refusal does) instead of a silent timeout.</para>
/// <para><see cref="PeerLinkStats.InboundLinks"/> counts the peer systems whose hello this inbox answered and whose
/// association has not ended since (no DeathWatch on them: see <see cref="PeerLinkActor"/> for why).</para>
/// <para>It has no message types of its own: it receives <see cref="PeerBatch"/> (the wire) and Akka's association
/// events (subscribed by the transport when it creates the inbox, so none is missed).</para>
/// </remarks>
internal sealed class PeerInboxActor : ReceiveActor
{
    /// <summary>The inbox's name under <c>/user</c>; the same on every node, so a peer's address is all a link needs.</summary>
    public const string Name = "memo-peer-inbox";

    private readonly AkkaPeerTransport _transport;
    // The peer system (its address) behind each answered hello, and the link whose InboundLinks it counts in.
    private readonly Dictionary<Address, AkkaPeerLink> _answered = [];
    // When each sender whose batches carried a wrong link key was last sent its key again.
    private readonly Dictionary<NodeId, long> _refreshedAt = [];
    private readonly Dictionary<NodeId, (string? HostPort, byte[] Key)> _keys = [];

    public PeerInboxActor(AkkaPeerTransport transport)
    {
        _transport = transport;
        Receive<PeerBatch>(batch => batch.Hello is null, OnFrames);
        Receive<PeerBatch>(OnHello);
        Receive<AssociatedEvent>(e => e.IsInbound && !string.Equals(e.RemoteAddress.System, _transport.NetworkId, StringComparison.Ordinal), OnForeignAssociation);
        Receive<AssociatedEvent>(_ => { });
        Receive<DisassociatedEvent>(e => Closed(e.RemoteAddress));
        Receive<AssociationErrorEvent>(e => Closed(e.RemoteAddress));
    }

    public static Props Props(AkkaPeerTransport transport) => Akka.Actor.Props.Create(() => new PeerInboxActor(transport));

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        foreach (var link in _answered.Values)
        {
            link.Counters.InboundClosed();
        }
        _answered.Clear();
    }

    private void OnFrames(PeerBatch batch)
    {
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.InboxReceive, batch.Frames.Count);
        var from = new NodeId(batch.FromNode);
        if (batch.Format != PeerWire.Format || from.IsNone || from == _transport.LocalNode)
        {
            AkkaPeerTransport.LogBatchRefused(_transport.Logger, Sender.Path.Address.ToString(), batch.Format, from);
            return;
        }
        var senderHostPort = Cluster.Runtime.AkkaHostPort.Of(Sender.Path.Address);
        if (!_transport.SenderMatches(from, senderHostPort))
        {
            return;
        }
        if (!KeyMatches(from, senderHostPort, batch.LinkKey.Span))
        {
            // Either a process that claims this sender's address without holding it, or the genuine sender with a key
            // from before this node restarted. Sending the key again reaches only the genuine holder of the address (a
            // connection this node dials), at most once a second per sender, so the second case heals itself.
            if (_refreshedAt.TryGetValue(from, out var last) && Environment.TickCount64 - last < 1000)
            {
                return;
            }
            if (_refreshedAt.Count >= _transport.Options.MaxPeers)
            {
                _refreshedAt.Clear();
            }
            _refreshedAt[from] = Environment.TickCount64;
            Sender.Tell(_transport.HelloAnswer(from, senderHostPort), Self);
            return;
        }
        var link = _transport.GetOrAddHeardLink(from, senderHostPort);
        if (link is null)
        {
            return;
        }
        var (received, inboundFull, malformed) = _transport.Deliver(from, batch.Frames);
        link.Counters.AddReceived(received);
        if (inboundFull > 0)
        {
            link.Counters.AddDroppedInboundFull(inboundFull);
            _transport.InboundFull(from, inboundFull);
        }
        if (malformed > 0)
        {
            link.Counters.AddMalformed(malformed);
            AkkaPeerTransport.LogMalformedFrames(_transport.Logger, from, malformed);
        }
    }

    // The link key of each recent sender, so a batch costs a comparison, not an HMAC. Only senders that passed the
    // member check get here; the cache is emptied when it holds more senders than a node may have peers.
    private bool KeyMatches(NodeId from, string? senderHostPort, ReadOnlySpan<byte> key)
    {
        if (_keys.TryGetValue(from, out var known) && string.Equals(known.HostPort, senderHostPort, StringComparison.Ordinal))
        {
            if (System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(key, known.Key))
            {
                return true;
            }
        }
        if (!_transport.LinkKeyMatches(from, senderHostPort, key))
        {
            return false;
        }
        if (_keys.Count >= _transport.Options.MaxPeers)
        {
            _keys.Clear();
        }
        _keys[from] = (senderHostPort, key.ToArray());
        return true;
    }

    private void OnHello(PeerBatch hello)
    {
        if (!string.Equals(hello.Hello.NetworkId, _transport.NetworkId, StringComparison.Ordinal))
        {
            // A node of another network telling us what it is (see OnForeignAssociation): never answered, so two
            // networks cannot keep each other busy.
            var mismatch = PeerWire.CheckHello(hello, _transport.LocalNode, _transport.NetworkId, NodeId.None);
            if (!mismatch.Accepted)
            {
                _transport.Refused(hello.Hello.Address, mismatch.Error!);
            }
            return;
        }
        var check = PeerWire.CheckHello(hello, _transport.LocalNode, _transport.NetworkId, NodeId.None);
        if (!check.Accepted && new NodeId(hello.Hello.Node) != _transport.LocalNode)
        {
            // Malformed (node 0, frames in a hello, overlong fields): the dialling side times out.
            AkkaPeerTransport.LogHelloRefused(_transport.Logger, Sender.Path.Address.ToString(), check.Error!);
            return;
        }
        // A hello from this very node (its own address given for another node) is answered too: the dialling link
        // sees its own node id in the answer and reports it. The answer carries the asker's link key.
        Sender.Tell(check.Accepted ? _transport.HelloAnswer(check.Node, Cluster.Runtime.AkkaHostPort.Of(Sender.Path.Address)) : _transport.Hello(), Self);
        if (check.Accepted && _transport.GetOrAddHeardLink(check.Node, hello.Hello.Address) is { } link)
        {
            var system = Sender.Path.Address;
            if (_answered.TryGetValue(system, out var previous))
            {
                if (previous == link)
                {
                    return;
                }
                // Another node now answers at that address (a restart under a new id).
                previous.Counters.InboundClosed();
            }
            _answered[system] = link;
            link.Counters.InboundOpened();
        }
    }

    private void OnForeignAssociation(AssociatedEvent association)
    {
        var remote = association.RemoteAddress;
        AkkaPeerTransport.LogForeignAssociation(_transport.Logger, remote.ToString(), _transport.NetworkId);
        _transport.ResolveInbox(remote).Tell(_transport.Hello(), Self);
    }

    private void Closed(Address remote)
    {
        if (_answered.Remove(remote, out var link))
        {
            link.Counters.InboundClosed();
        }
    }
}
