using Akka.Actor;
using Akka.Event;
using Akka.Remote;
using Akka.TestKit;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Memo.Node.Transport.Wire;
using Xunit.Abstractions;
using static Memo.Node.Tests.Transport.PeerTestKit;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// <see cref="PeerLinkActor"/> with a TestProbe standing in for the peer's inbox: what leaves the link, in how many
/// batches, and what the link does with each answer. Messages are queued while the probe has not answered the hello,
/// so batch counts depend on no timing.
/// </summary>
public sealed class PeerLinkActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly NodeId Local = new(1);
    private static readonly NodeId Peer = new(2);
    private const string PeerAddress = "127.0.0.1:45678";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly TestLoggerFactory _logs = new();

    public PeerLinkActorTests(ITestOutputHelper output)
        : base(AkkaTestSystem.Config(), "links", output)
    {
        Inbox = CreateTestProbe("peer-inbox");
    }

    private TestProbe Inbox { get; }

    [Fact]
    public void Messages_sent_back_to_back_while_the_hello_is_unanswered_leave_as_one_batch()
    {
        var transport = Start();
        for (int i = 0; i < 100; i++)
        {
            transport.Send(Peer, PeerAddress, PeerMessage.Raft(new ShardId(i % 8), BitConverter.GetBytes(i)));
        }

        var hello = ExpectHello();
        Assert.Equal(Local.Value, hello.Hello.Node);
        Assert.Equal(Sys.Name, hello.Hello.NetworkId);
        Assert.Equal(transport.AdvertisedAddress, hello.Hello.Address);
        AnswerHello(Peer);

        var batch = ExpectBatch("one batch of the 100 queued messages");
        Assert.Equal(Local.Value, batch.FromNode);
        Assert.Equal(Enumerable.Range(0, 100), batch.Frames.Select(f => BitConverter.ToInt32(f.Body.Span)));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i % 8), batch.Frames.Select(f => f.Shard));
        AwaitAssert(() => Assert.Equal((100L, 1L, PeerLinkState.Connected), Counted(transport)), Wait);
    }

    [Fact]
    public void A_batch_holds_at_most_MaxBatchMessages()
    {
        var transport = Start(AkkaTestSystem.Options with { MaxBatchMessages = 10 });
        for (int i = 0; i < 25; i++)
        {
            transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(BitConverter.GetBytes(i)));
        }
        AnswerTheHello();

        int[][] expected = [[.. Enumerable.Range(0, 10)], [.. Enumerable.Range(10, 10)], [.. Enumerable.Range(20, 5)]];
        foreach (var frames in expected)
        {
            var batch = ExpectBatch($"a batch of {frames.Length} messages from {frames[0]}");
            Assert.Equal(frames, batch.Frames.Select(f => BitConverter.ToInt32(f.Body.Span)));
        }
        AwaitAssert(() => Assert.Equal((25L, 3L, PeerLinkState.Connected), Counted(transport)), Wait);
    }

    [Fact]
    public void A_batch_holds_at_most_MaxBatchBytes_of_body_and_a_larger_message_travels_alone()
    {
        var transport = Start(AkkaTestSystem.Options with { MaxBatchBytes = 1000 });
        int[] sizes = [400, 400, 400, 1500, 100];
        foreach (var size in sizes)
        {
            transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(new byte[size]));
        }
        AnswerTheHello();

        int[][] expected = [[400, 400], [400], [1500], [100]];
        foreach (var bodies in expected)
        {
            var batch = ExpectBatch($"a batch of bodies {string.Join(", ", bodies)}");
            Assert.Equal(bodies, batch.Frames.Select(f => f.Body.Length));
        }
    }

    [Fact]
    public void A_full_queue_drops_and_counts_what_it_cannot_hold()
    {
        var transport = Start(AkkaTestSystem.Options with { QueueCapacity = 8 });
        for (int i = 0; i < 20; i++)
        {
            transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(BitConverter.GetBytes(i)));
        }

        // Send counts a refusal before it returns.
        Assert.Equal(12, transport.GetLinkStats(Peer)!.DroppedQueueFull);
        Assert.Equal(8, transport.GetLinkStats(Peer)!.Queued);
        AnswerTheHello();
        var batch = ExpectBatch("the 8 messages the queue held");
        Assert.Equal(Enumerable.Range(0, 8), batch.Frames.Select(f => BitConverter.ToInt32(f.Body.Span)));
    }

    [Fact]
    public void A_queue_at_its_byte_limit_drops_and_counts()
    {
        var transport = Start(AkkaTestSystem.Options with { MaxQueuedBytes = 1000, MaxMessageBytes = 1000 });
        transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(new byte[400]));
        transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(new byte[400]));
        transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(new byte[400]));

        var stats = transport.GetLinkStats(Peer)!;
        Assert.Equal((1L, 2, 800L), (stats.DroppedQueueFull, stats.Queued, stats.QueuedBytes));
    }

    [Fact]
    public void A_hello_answered_by_another_node_drops_the_queue_and_no_batch_leaves()
    {
        var transport = Start();
        for (int i = 0; i < 5; i++)
        {
            Send(transport, "for node 2");
        }
        ExpectHello();
        AnswerHello(new NodeId(99));

        AwaitAssert(
            () =>
            {
                var stats = transport.GetLinkStats(Peer)!;
                Assert.Equal(5, stats.DroppedUnreachable);
                Assert.Contains($"is node {new NodeId(99)}, not the expected node {Peer}", stats.LastError);
            },
            Wait);
        Assert.Equal(0, transport.GetLinkStats(Peer)!.Sent);
        // After the backoff (10–50 ms) the next message says hello again: nothing was sent to the wrong node meanwhile.
        AwaitAssert(() => Assert.Equal(PeerLinkState.Idle, transport.GetLinkStats(Peer)!.State), Wait);
        Send(transport, "again");
        ExpectHello();
    }

    [Fact]
    public void An_unanswered_hello_fails_the_attempt_after_the_connect_timeout()
    {
        var transport = Start(AkkaTestSystem.Options with { ConnectTimeout = TimeSpan.FromMilliseconds(200) });
        Send(transport, "unanswered");
        ExpectHello();

        AwaitAssert(
            () =>
            {
                var stats = transport.GetLinkStats(Peer)!;
                Assert.Equal(1, stats.DroppedUnreachable);
                Assert.Contains("no answer to the hello", stats.LastError);
            },
            Wait);
    }

    [Fact]
    public void An_association_error_for_the_peer_fails_the_attempt_at_once()
    {
        // A day-long connect timeout: only Akka's event can end the attempt. A long backoff keeps the link Unreachable.
        var transport = Start(AkkaTestSystem.Options with { ConnectTimeout = TimeSpan.FromDays(1), ReconnectBackoffMin = TimeSpan.FromMinutes(1), ReconnectBackoffMax = TimeSpan.FromMinutes(1) });
        Send(transport, "refused");
        ExpectHello();

        Sys.EventStream.Publish(new AssociationErrorEvent(
            new InvalidOperationException("Connection refused"), Own, AkkaTestSystem.AddressOf(Sys, PeerAddress), inbound: false, LogLevel.WarningLevel));

        AwaitAssert(
            () =>
            {
                var stats = transport.GetLinkStats(Peer)!;
                Assert.Equal((1L, PeerLinkState.Unreachable), (stats.DroppedUnreachable, stats.State));
                Assert.Contains("Connection refused", stats.LastError);
            },
            Wait);
    }

    [Fact]
    public void A_quarantine_of_the_peer_sends_the_link_back_to_hello_before_its_next_batch()
    {
        var transport = Start();
        Send(transport, "first");
        AnswerTheHello();
        Assert.Equal("first", PeerTestKit.Text(ExpectBatch("the first message").Frames[0].Body.Memory));

        Sys.EventStream.Publish(new QuarantinedEvent(AkkaTestSystem.AddressOf(Sys, PeerAddress), 12345));
        AwaitAssert(() => Assert.Equal(PeerLinkState.Idle, transport.GetLinkStats(Peer)!.State), Wait);
        Send(transport, "second");

        AnswerTheHello();
        Assert.Equal("second", PeerTestKit.Text(ExpectBatch("the message after the new hello").Frames[0].Body.Memory));
        Assert.Contains("quarantined", transport.GetLinkStats(Peer)!.LastError);
    }

    [Fact]
    public void Lifecycle_events_of_other_addresses_leave_the_link_alone()
    {
        var transport = Start();
        Send(transport, "first");
        AnswerTheHello();
        ExpectBatch("the first message");

        var elsewhere = AkkaTestSystem.AddressOf(Sys, "127.0.0.1:45600");
        Sys.EventStream.Publish(new DisassociatedEvent(Own, elsewhere, inbound: false));
        Sys.EventStream.Publish(new QuarantinedEvent(elsewhere, 1));
        Send(transport, "second");

        // The events were handled before the Wake of "second": a link sent back to Idle would say hello first.
        Assert.Equal("second", PeerTestKit.Text(ExpectBatch("the second message, without a new hello").Frames[0].Body.Memory));
    }

    [Fact]
    public void A_disassociation_from_the_peer_sends_the_link_back_to_hello()
    {
        var transport = Start();
        Send(transport, "first");
        AnswerTheHello();
        ExpectBatch("the first message");

        Sys.EventStream.Publish(new DisassociatedEvent(Own, AkkaTestSystem.AddressOf(Sys, PeerAddress), inbound: false));
        AwaitAssert(() => Assert.Equal(PeerLinkState.Idle, transport.GetLinkStats(Peer)!.State), Wait);
        Send(transport, "second");

        ExpectHello();
    }

    [Fact]
    public void A_peer_that_moved_gets_a_hello_at_its_new_address()
    {
        const string moved = "127.0.0.1:45679";
        var addresses = new List<Address>();
        var transport = Start(resolve: address =>
        {
            lock (addresses)
            {
                addresses.Add(address);
            }
            return Inbox.Ref;
        });
        Send(transport, "first");
        AnswerTheHello();
        ExpectBatch("the first message");

        transport.Send(Peer, moved, PeerMessage.Forwarding(Bytes("moved")));

        AnswerTheHello();
        Assert.Equal("moved", PeerTestKit.Text(ExpectBatch("the message to the new address").Frames[0].Body.Memory));
        lock (addresses)
        {
            Assert.Equal([AkkaTestSystem.AddressOf(Sys, PeerAddress), AkkaTestSystem.AddressOf(Sys, moved)], addresses);
        }
        Assert.Equal(moved, transport.GetLinkStats(Peer)!.Address);
    }

    [Fact]
    public void A_busy_link_waits_behind_queued_work_and_sends_what_was_queued_meanwhile_as_one_batch()
    {
        // A window no pause of the machine can outlast: the link stays busy from its first two-message flush on.
        var (transport, deferred) = StartDeferringWakes(queuedWork: true);
        Send(transport, "a", "b");
        AnswerTheHello();
        Assert.Equal(["a", "b"], Texts(ExpectBatch("the two messages queued during the hello")));
        AwaitAssert(() => Assert.Equal(2, transport.GetLinkStats(Peer)!.Sent), Wait);
        Assert.Empty(deferred);

        Send(transport, "c");
        Assert.Single(deferred);
        Send(transport, "d", "e");
        Assert.Single(deferred);
        Assert.Equal((2L, 3), (transport.GetLinkStats(Peer)!.Sent, transport.GetLinkStats(Peer)!.Queued));

        Assert.True(deferred.TryDequeue(out var link));
        link.Tell(PeerLinkActor.Wake.Instance);
        Assert.Equal(["c", "d", "e"], Texts(ExpectBatch("the three messages queued while the wake waited")));
        AwaitAssert(() => Assert.Equal((5L, 2L, PeerLinkState.Connected), Counted(transport)), Wait);
    }

    [Fact]
    public void An_idle_link_tells_its_wake_at_once()
    {
        var (transport, deferred) = StartDeferringWakes(queuedWork: true);
        Send(transport, "a");
        AnswerTheHello();
        Assert.Equal(["a"], Texts(ExpectBatch("the message queued during the hello")));

        // Every flush so far drained one message: the link is not busy, and the next message leaves without waiting.
        Send(transport, "b");
        Assert.Empty(deferred);
        Assert.Equal(["b"], Texts(ExpectBatch("the next message, told at once")));
    }

    [Fact]
    public void Without_coalescing_a_busy_link_tells_its_wake_at_once() =>
        ABusyLinkTellsItsWakeAtOnce(queuedWork: true, coalesce: false);

    [Fact]
    public void A_busy_link_tells_its_wake_at_once_when_no_work_is_queued_to_wait_behind() =>
        ABusyLinkTellsItsWakeAtOnce(queuedWork: false, coalesce: true);

    // A link made busy by its two-message flush, whose next message is nevertheless told at once (nothing deferred).
    private void ABusyLinkTellsItsWakeAtOnce(bool queuedWork, bool coalesce)
    {
        var (transport, deferred) = StartDeferringWakes(queuedWork, coalesce);
        Send(transport, "a", "b");
        AnswerTheHello();
        Assert.Equal(["a", "b"], Texts(ExpectBatch("the two messages queued during the hello")));

        Send(transport, "c");
        Assert.Empty(deferred);
        Assert.Equal(["c"], Texts(ExpectBatch("the next message, told at once")));
    }

    private static string[] Texts(PeerBatch batch) => [.. batch.Frames.Select(f => PeerTestKit.Text(f.Body.Memory))];

    private Address Own => ((ExtendedActorSystem)Sys).Provider.DefaultAddress;

    private AkkaPeerTransport Start(PeerTransportOptions? options = null, Func<Address, IActorRef>? resolve = null) =>
        new(Sys, Local, options ?? AkkaTestSystem.Options, _logs, new Random(1), resolve ?? (_ => Inbox.Ref));

    // A link whose flushes count as busy for an hour, with its deferred wakes kept for the test to tell.
    // queuedWork: whether the link sees work queued on its dispatcher to wait behind.
    private (AkkaPeerTransport Transport, System.Collections.Concurrent.ConcurrentQueue<IActorRef> Deferred) StartDeferringWakes(bool queuedWork, bool coalesce = true)
    {
        var transport = Start(AkkaTestSystem.Options with { BusyWindow = TimeSpan.FromHours(1), CoalesceBusyLinks = coalesce });
        var deferred = new System.Collections.Concurrent.ConcurrentQueue<IActorRef>();
        transport.WakeDeferral = deferred.Enqueue;
        transport.QueuedWork = () => queuedWork;
        return (transport, deferred);
    }

    private static void Send(AkkaPeerTransport transport, params string[] texts)
    {
        foreach (var text in texts)
        {
            transport.Send(Peer, PeerAddress, PeerMessage.Forwarding(Bytes(text)));
        }
    }

    private PeerBatch ExpectHello() =>
        Inbox.ExpectMsg<PeerBatch>(b => b.Hello is not null, Wait, "the link's hello");

    // The hello arrives and the expected peer answers it.
    private void AnswerTheHello()
    {
        ExpectHello();
        AnswerHello(Peer);
    }

    private void AnswerHello(NodeId node) => Inbox.Reply(PeerWire.Hello(node, PeerAddress, Sys.Name));

    private PeerBatch ExpectBatch(string what) =>
        Inbox.ExpectMsg<PeerBatch>(b => b.Hello is null, Wait, what);

    private static (long Sent, long Batches, PeerLinkState State) Counted(AkkaPeerTransport transport)
    {
        var stats = transport.GetLinkStats(Peer)!;
        return (stats.Sent, stats.SentBatches, stats.State);
    }
}
