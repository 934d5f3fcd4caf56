using Akka.Actor;
using Akka.Remote;
using Akka.TestKit;
using Google.Protobuf;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Memo.Node.Transport.Wire;
using Xunit.Abstractions;
using static Memo.Node.Tests.Transport.PeerTestKit;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// <see cref="PeerInboxActor"/>: TestProbes play the peers' links and inboxes; the transport's <c>Inbound</c> and
/// link statistics show what the inbox did.
/// </summary>
public sealed class PeerInboxActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly NodeId Local = new(1);
    private static readonly NodeId Peer = new(7);
    private const string PeerAddress = "127.0.0.1:45677";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly TestLoggerFactory _logs = new();

    public PeerInboxActorTests(ITestOutputHelper output)
        : base(AkkaTestSystem.Config(), "inbox", output)
    {
        PeerInbox = CreateTestProbe("peer-inbox");
        PeerLink = CreateTestProbe("peer-link");
    }

    /// <summary>Stands in for every other node's inbox (what this node's links and the inbox itself send to).</summary>
    private TestProbe PeerInbox { get; }

    /// <summary>Stands in for the peer's link actor (what sends hellos and batches to this node's inbox).</summary>
    private TestProbe PeerLink { get; }

    [Fact]
    public void The_inbox_answers_a_hello_with_this_nodes_hello_and_counts_the_link()
    {
        var transport = Start();

        PeerLink.Send(Inbox(), PeerWire.Hello(Peer, PeerAddress, Sys.Name));

        var answer = PeerLink.ExpectMsg<PeerBatch>(b => b.Hello is not null, Wait, "the inbox's answer to the hello");
        Assert.Equal((Local.Value, Sys.Name, transport.AdvertisedAddress), (answer.Hello.Node, answer.Hello.NetworkId, answer.Hello.Address));
        AwaitAssert(() => Assert.Equal((1, PeerAddress), (transport.GetLinkStats(Peer)?.InboundLinks, transport.GetLinkStats(Peer)?.Address)), Wait);

        // The association with the peer's system ends (it stopped, crashed, or the transport gave up on it).
        Sys.EventStream.Publish(new DisassociatedEvent(Own, PeerLink.Ref.Path.Address, inbound: true));
        AwaitAssert(() => Assert.Equal(0, transport.GetLinkStats(Peer)!.InboundLinks), Wait);
    }

    [Fact]
    public void Frames_reach_inbound_in_order_and_those_beyond_a_full_channel_are_dropped_and_counted()
    {
        var transport = Start(AkkaTestSystem.Options with { InboundCapacity = 3 });

        PeerLink.Send(Inbox(), Batch(Peer, 5, LinkKey()));

        AwaitAssert(() => Assert.Equal((3L, 2L), (transport.GetLinkStats(Peer)?.Received, transport.GetLinkStats(Peer)?.DroppedInboundFull)), Wait);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(transport.Inbound.TryRead(out var message));
            Assert.Equal((Peer, i), (message.From, BitConverter.ToInt32(message.Message.Body.Span)));
        }
        Assert.False(transport.Inbound.TryRead(out _));
    }

    [Fact]
    public void Malformed_frames_are_dropped_and_counted_and_the_rest_delivered()
    {
        var transport = Start();
        var batch = Batch(Peer, 2, LinkKey());
        batch.Frames.Insert(1, new PeerFrame { Kind = 9, Body = ByteString.CopyFromUtf8("from a newer peer") });
        batch.Frames.Insert(2, new PeerFrame { Kind = 4, Shard = -1 });

        PeerLink.Send(Inbox(), batch);

        AwaitAssert(() => Assert.Equal((2L, 2L), (transport.GetLinkStats(Peer)?.Received, transport.GetLinkStats(Peer)?.MalformedFrames)), Wait);
    }

    [Fact]
    public void Batches_of_another_format_or_from_no_node_or_from_this_node_are_dropped()
    {
        var transport = Start();
        var key = LinkKey();
        var otherFormat = Batch(Peer, 1, key);
        otherFormat.Format = 2;

        PeerLink.Send(Inbox(), otherFormat);
        PeerLink.Send(Inbox(), Batch(NodeId.None, 1, key));
        PeerLink.Send(Inbox(), Batch(Local, 1, key));
        PeerLink.Send(Inbox(), Batch(Peer, 1, key));

        // The inbox handles its mailbox in order: once the valid batch is in, the others were looked at and dropped.
        AwaitAssert(() => Assert.Equal(1L, transport.GetLinkStats(Peer)?.Received), Wait);
        Assert.True(transport.Inbound.TryRead(out _));
        Assert.False(transport.Inbound.TryRead(out var leaked), $"a refused batch reached inbound: {leaked}");
        Assert.Equal([Peer], transport.GetLinkStats().Select(s => s.Peer));
    }

    [Fact]
    public void A_batch_without_the_senders_link_key_is_dropped_and_the_key_sent_again_to_the_sender()
    {
        var transport = Start();
        var key = LinkKey();
        var otherSender = Batch(new NodeId(8), 1, key); // node 7's key, claimed by node 8 from the same address

        PeerLink.Send(Inbox(), Batch(Peer, 1, ByteString.Empty));
        var again = PeerLink.ExpectMsg<PeerBatch>(b => b.Hello is not null, Wait, "the key, sent again to the sender's address");
        PeerLink.Send(Inbox(), otherSender);
        PeerLink.Send(Inbox(), Batch(Peer, 1, key));

        Assert.Equal(key, again.Hello.LinkKey);
        AwaitAssert(() => Assert.Equal(1L, transport.GetLinkStats(Peer)?.Received), Wait);
        Assert.Equal(2, transport.UnauthenticatedBatches);
        Assert.True(transport.Inbound.TryRead(out var delivered));
        Assert.Equal(Peer, delivered.From);
        Assert.False(transport.Inbound.TryRead(out var leaked), $"a batch without its key reached inbound: {leaked}");
    }

    [Fact]
    public void A_system_of_another_name_that_associates_is_told_this_nodes_network()
    {
        var addresses = new List<Address>();
        var transport = Start(resolve: address =>
        {
            lock (addresses)
            {
                addresses.Add(address);
            }
            return PeerInbox.Ref;
        });
        var foreign = new Address("akka.tcp", "other-network", "127.0.0.1", 45676);

        // An association of this network's own name is no news; another name is.
        Sys.EventStream.Publish(new AssociatedEvent(Own, AkkaTestSystem.AddressOf(Sys, PeerAddress), inbound: true));
        Sys.EventStream.Publish(new AssociatedEvent(Own, foreign, inbound: true));

        var notice = PeerInbox.ExpectMsg<PeerBatch>(b => b.Hello is not null, Wait, "this node's hello, sent to the foreign system's inbox");
        Assert.Equal((Local.Value, Sys.Name), (notice.Hello.Node, notice.Hello.NetworkId));
        lock (addresses)
        {
            Assert.Equal([foreign], addresses);
        }
    }

    [Fact]
    public void A_notice_from_another_network_fails_the_links_to_its_address_and_is_not_answered()
    {
        // A long backoff keeps the link Unreachable while the test looks.
        var transport = Start(AkkaTestSystem.Options with { ReconnectBackoffMin = TimeSpan.FromMinutes(1), ReconnectBackoffMax = TimeSpan.FromMinutes(1) });
        transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(Bytes("to a node that turns out foreign")));
        PeerInbox.ExpectMsg<PeerBatch>(b => b.Hello is not null, Wait, "the link's hello");

        PeerLink.Send(Inbox(), PeerWire.Hello(Peer, PeerAddress, "other-network"));

        AwaitAssert(
            () =>
            {
                var stats = transport.GetLinkStats(Peer)!;
                Assert.Equal((PeerLinkState.Unreachable, 1L), (stats.State, stats.DroppedUnreachable));
                Assert.Contains("network id mismatch", stats.LastError);
                Assert.Contains($"'{Sys.Name}'", stats.LastError);
                Assert.Contains("'other-network'", stats.LastError);
            },
            Wait);
        // A foreign hello opens no inbound link (and is never answered, so two networks cannot keep each other busy).
        Assert.Equal(0, transport.GetLinkStats(Peer)!.InboundLinks);
    }

    private Address Own => ((ExtendedActorSystem)Sys).Provider.DefaultAddress;

    private AkkaPeerTransport Start(PeerTransportOptions? options = null, Func<Address, IActorRef>? resolve = null) =>
        new(Sys, Local, options ?? AkkaTestSystem.Options, _logs, new Random(1), resolve ?? (_ => PeerInbox.Ref));

    private IActorRef Inbox() =>
        Sys.ActorSelection($"/user/{PeerInboxActor.Name}").ResolveOne(Wait).GetAwaiter().GetResult();

    // Says hello as the peer's link does and returns the key the inbox's answer gives it.
    private ByteString LinkKey()
    {
        PeerLink.Send(Inbox(), PeerWire.Hello(Peer, PeerAddress, Sys.Name));
        var key = PeerLink.ExpectMsg<PeerBatch>(b => b.Hello is not null, Wait, "the inbox's answer to the hello").Hello.LinkKey;
        Assert.Equal(16, key.Length);
        return key;
    }

    private static PeerBatch Batch(NodeId from, int frames, ByteString linkKey)
    {
        var batch = new PeerBatch { Format = PeerWire.Format, FromNode = from.Value, LinkKey = linkKey };
        for (int i = 0; i < frames; i++)
        {
            batch.Frames.Add(PeerWire.ToFrame(PeerMessage.Forwarding(BitConverter.GetBytes(i))));
        }
        return batch;
    }
}
