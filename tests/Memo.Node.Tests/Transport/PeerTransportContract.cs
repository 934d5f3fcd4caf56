using Memo.Node.Transport;
using static Memo.Node.Tests.Transport.PeerTestKit;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// What every <see cref="IPeerTransport"/> must do, run against each implementation by a subclass that says
/// how to bring a node up at an address and how to name an address where nothing answers yet.
/// </summary>
public abstract class PeerTransportContract : IAsyncLifetime
{
    private readonly List<TestPeer> _peers = [];

    /// <summary>Quick reconnects so that "comes up later" tests do not wait out long backoffs.</summary>
    protected static PeerTransportOptions TestOptions { get; } = new()
    {
        ReconnectBackoffMin = TimeSpan.FromMilliseconds(10),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>
    /// True when a full <see cref="IPeerTransport.Inbound"/> slows the senders down until their queues drop (the gRPC
    /// stream's flow control); false when the receiver drops and counts instead (<see cref="PeerLinkStats.DroppedInboundFull"/>).
    /// </summary>
    protected virtual bool FullInboundSlowsSenders => true;

    /// <summary>Brings <paramref name="node"/> up at <paramref name="address"/> (an address from <see cref="ReserveAddress"/> or of a stopped peer).</summary>
    protected abstract Task<TestPeer> BringUpAsync(NodeId node, string address, PeerTransportOptions options, string networkId);

    /// <summary>An address where nothing answers until a node is started at it.</summary>
    protected abstract string ReserveAddress();

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        for (int i = _peers.Count - 1; i >= 0; i--)
        {
            await _peers[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task Messages_flow_both_ways_between_two_nodes()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);

        a.Send(b, PeerMessage.Forwarding(Bytes("a to b")));
        b.Send(a, PeerMessage.Forwarding(Bytes("b to a")));

        var atB = await ReceiveAsync(b, "a's gossip");
        Assert.Equal(a.Node, atB.From);
        Assert.Equal("a to b", Text(atB));
        var atA = await ReceiveAsync(a, "b's gossip");
        Assert.Equal(b.Node, atA.From);
        Assert.Equal("b to a", Text(atA));
    }

    [Fact]
    public async Task Every_pair_of_three_nodes_exchanges_messages()
    {
        TestPeer[] nodes = [await StartAsync(1), await StartAsync(2), await StartAsync(3)];

        foreach (var from in nodes)
        {
            foreach (var to in nodes.Where(n => n != from))
            {
                from.Send(to, PeerMessage.Forwarding(Bytes($"{from.Node}->{to.Node}")));
            }
        }

        foreach (var to in nodes)
        {
            var received = await ReceiveManyAsync(to, 2, $"one message from each other node at {to}");
            var expected = nodes.Where(n => n != to).Select(n => (n.Node, $"{n.Node}->{to.Node}")).OrderBy(x => x.Node);
            Assert.Equal(expected, received.Select(m => (m.From, Text(m))).OrderBy(x => x.From));
        }
    }

    [Fact]
    public async Task A_message_arrives_with_its_channel_shard_and_body()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        PeerMessage[] sent =
        [
            PeerMessage.Forwarding(ReadOnlyMemory<byte>.Empty),
            PeerMessage.Raft(new ShardId(0), Bytes("shard zero is a shard")),
            PeerMessage.Raft(new ShardId(63), new byte[] { 0, 255, 1, 254 }),
            PeerMessage.Forwarding(Bytes("a forwarded call")),
            new PeerMessage(PeerChannelKind.Forwarding, new ShardId(5), Bytes("a node-wide kind may name a shard")),
        ];

        foreach (var message in sent)
        {
            a.Send(b, message);
        }
        var received = await ReceiveManyAsync(b, sent.Length, "the five messages of every shape");

        for (int i = 0; i < sent.Length; i++)
        {
            Assert.Equal(a.Node, received[i].From);
            Assert.Equal(sent[i].Channel, received[i].Message.Channel);
            Assert.Equal(sent[i].Shard, received[i].Message.Shard);
            Assert.Equal(sent[i].Body.ToArray(), received[i].Message.Body.ToArray());
        }
    }

    [Fact]
    public async Task Messages_from_one_sender_arrive_in_send_order()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        const int count = 3000;
        var random = new Random(7);

        for (int i = 0; i < count; i++)
        {
            // Mixed kinds and sizes, so batches hold different numbers of frames.
            var body = new byte[4 + random.Next(0, 2000)];
            BitConverter.TryWriteBytes(body, i);
            a.Send(b, i % 3 == 0 ? PeerMessage.Raft(new ShardId(i % 64), body) : PeerMessage.Forwarding(body));
        }
        var received = await ReceiveManyAsync(b, count, "all messages from a");

        Assert.Equal(Enumerable.Range(0, count), received.Select(m => BitConverter.ToInt32(m.Message.Body.Span)));
        await EventuallyAsync(() => a.StatsFor(b) is { Sent: count, Dropped: 0, Queued: 0 }, () => $"a's link to b to count {count} sent and none dropped: {a.StatsFor(b)}");
    }

    [Fact]
    public async Task Two_senders_to_one_receiver_each_keep_their_order()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        var c = await StartAsync(3);
        const int each = 1000;

        await Task.WhenAll(
            Task.Run(() => SendSequence(a, b, each)),
            Task.Run(() => SendSequence(c, b, each)));
        var received = await ReceiveManyAsync(b, 2 * each, "both senders' sequences");

        foreach (var sender in new[] { a, c })
        {
            var sequence = received.Where(m => m.From == sender.Node).Select(m => BitConverter.ToInt32(m.Message.Body.Span));
            Assert.Equal(Enumerable.Range(0, each), sequence);
        }
    }

    [Fact]
    public async Task A_body_at_the_size_limit_arrives_intact()
    {
        var options = TestOptions with { MaxMessageBytes = 3 * 1024 * 1024, MaxBatchBytes = 256 * 1024 };
        var a = await StartAsync(1, options);
        var b = await StartAsync(2, options);
        var large = new byte[options.MaxMessageBytes];
        new Random(11).NextBytes(large);

        a.Send(b, PeerMessage.Raft(new ShardId(9), Bytes("small before")));
        a.Send(b, PeerMessage.Raft(new ShardId(9), large));
        a.Send(b, PeerMessage.Raft(new ShardId(9), Bytes("small after")));
        var received = await ReceiveManyAsync(b, 3, "a small, a limit-sized and a small message");

        Assert.Equal("small before", Text(received[0]));
        Assert.True(large.AsSpan().SequenceEqual(received[1].Message.Body.Span), "the limit-sized body arrived altered");
        Assert.Equal("small after", Text(received[2]));
    }

    [Fact]
    public async Task Send_throws_for_a_body_over_the_size_limit()
    {
        var options = TestOptions with { MaxMessageBytes = 1000 };
        var a = await StartAsync(1, options);
        var b = await StartAsync(2, options);

        var ex = Assert.Throws<ArgumentException>(() => a.Send(b, PeerMessage.Forwarding(new byte[1001])));

        Assert.Contains("1001", ex.Message);
        Assert.Contains("1000", ex.Message);
    }

    [Fact]
    public async Task Send_throws_for_caller_bugs()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        var message = PeerMessage.Forwarding(Bytes("x"));

        Assert.Throws<ArgumentException>(() => a.Transport.Send(NodeId.None, b.Address, message));
        Assert.Throws<ArgumentException>(() => a.Transport.Send(a.Node, a.Address, message));
        Assert.Throws<ArgumentException>(() => a.Transport.Send(b.Node, " ", message));
        Assert.Throws<ArgumentException>(() => a.Transport.Send(b.Node, b.Address, default));
    }

    [Fact]
    public async Task Messages_to_an_unreachable_peer_are_dropped_and_counted()
    {
        var a = await StartAsync(1);
        var nowhere = ReserveAddress();
        var absent = new NodeId(2);
        const int count = 100;

        for (int i = 0; i < count; i++)
        {
            a.Transport.Send(absent, nowhere, PeerMessage.Forwarding(Bytes($"lost {i}")));
        }

        await EventuallyAsync(
            () => a.Transport.GetLinkStats(absent) is { DroppedUnreachable: count, Queued: 0 },
            () => $"all {count} messages to the unreachable node to be dropped: {a.Transport.GetLinkStats(absent)}");
        var stats = a.Transport.GetLinkStats(absent)!;
        Assert.Equal(0, stats.Sent);
        Assert.Equal(0, stats.DroppedQueueFull);
        Assert.NotNull(stats.LastError);
        Assert.NotEqual(PeerLinkState.Connected, stats.State);
    }

    [Fact]
    public async Task Messages_flow_once_an_unreachable_peer_comes_up()
    {
        var a = await StartAsync(1);
        var address = ReserveAddress();
        var bNode = new NodeId(2);
        a.Transport.Send(bNode, address, PeerMessage.Forwarding(Bytes("too early")));
        await EventuallyAsync(() => a.Transport.GetLinkStats(bNode) is { DroppedUnreachable: 1 }, () => $"the early message to be dropped: {a.Transport.GetLinkStats(bNode)}");

        var b = await StartAtAsync(bNode, address);
        await SendUntilReceivedAsync(a, b, "after b came up");
        a.Send(b, PeerMessage.Forwarding(Bytes("on time")));

        Assert.Equal("on time", Text(await ReceiveAsync(b, "the message sent once the link was up")));
        Assert.True(a.StatsFor(b)!.Connected, $"a's link to b should be connected: {a.StatsFor(b)}");
    }

    [Fact]
    public async Task A_restarted_peer_is_reconnected()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        a.Send(b, PeerMessage.Forwarding(Bytes("before restart")));
        Assert.Equal("before restart", Text(await ReceiveAsync(b, "the first message")));
        b.Send(a, PeerMessage.Forwarding(Bytes("hello a")));
        Assert.Equal("hello a", Text(await ReceiveAsync(a, "b's first message")));

        var restarted = await RestartAsync(b);
        await SendUntilReceivedAsync(a, restarted, "a to b after b restarted");
        await SendUntilReceivedAsync(restarted, a, "b to a after b restarted");
        a.Send(restarted, PeerMessage.Forwarding(Bytes("after restart")));

        Assert.Equal("after restart", Text(await ReceiveAsync(restarted, "the message after the restart")));
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_what_it_cannot_hold_and_delivers_the_rest_in_order()
    {
        var a = await StartAsync(1, TestOptions with { QueueCapacity = 8 });
        // b's consumer does not read yet: its inbound channel fills, its link stops reading, a's queue fills.
        var b = await StartAsync(2, TestOptions with { InboundCapacity = 1 });
        // 128 MiB in all: more than every buffer between the two queues (flow-control windows, socket buffers).
        const int count = 2048;
        var payload = new byte[64 * 1024];

        var refused = 0;
        for (int i = 0; i < count; i++)
        {
            var body = new byte[payload.Length];
            BitConverter.TryWriteBytes(body, i);
            if (!a.Send(b, PeerMessage.Forwarding(body)))
            {
                refused++;
            }
        }
        var dropped = a.StatsFor(b)!.DroppedQueueFull;
        Assert.True(dropped > 0, $"a full queue should have dropped messages: {a.StatsFor(b)}");
        // Send said so for every message the full queue dropped: those certainly never left.
        Assert.Equal(dropped, refused);

        // Every message is delivered or counted as dropped: at the sender when its queue was full, or at the receiver
        // when its inbound channel was (a transport that cannot slow a remote sender down). Delivered ones are in order.
        int taken = count - (int)dropped;
        var received = new List<InboundPeerMessage>();
        using (var deadline = new CancellationTokenSource(Patience))
        {
            while (received.Count + (b.StatsFor(a)?.DroppedInboundFull ?? 0) < taken)
            {
                using var round = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                round.CancelAfter(TimeSpan.FromMilliseconds(100));
                try
                {
                    received.Add(await b.Transport.Inbound.ReadAsync(round.Token));
                }
                catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                {
                    // Nothing new for a while: look at the receiver's drop count again.
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"Timed out after {Patience}: b received {received.Count} of the {taken} messages a's queue took. Its link: {b.StatsFor(a)}; a's link: {a.StatsFor(b)}");
                }
            }
        }
        var droppedAtB = b.StatsFor(a)?.DroppedInboundFull ?? 0;
        Assert.Equal(taken, received.Count + droppedAtB);
        if (FullInboundSlowsSenders)
        {
            Assert.Equal(0, droppedAtB);
        }
        var sequence = received.Select(m => BitConverter.ToInt32(m.Message.Body.Span)).ToList();
        Assert.Equal(sequence.Order(), sequence);
        var stats = a.StatsFor(b)!;
        Assert.Equal(dropped, stats.DroppedQueueFull);
        Assert.Equal(0, stats.DroppedUnreachable);
        await EventuallyAsync(() => a.StatsFor(b)!.Sent == taken, () => $"a's link to count {taken} sent: {a.StatsFor(b)}");
    }

    [Fact]
    public async Task A_link_to_a_node_of_another_network_is_refused()
    {
        var a = await StartAsync(1, networkId: "network-one");
        var b = await StartAsync(2, networkId: "network-two");

        await EventuallyAsync(
            () =>
            {
                a.Send(b, PeerMessage.Forwarding(Bytes("across networks")));
                return a.StatsFor(b)?.LastError?.Contains("network id mismatch", StringComparison.Ordinal) == true;
            },
            () => $"a's link to b to report the network id mismatch: {a.StatsFor(b)}");

        var stats = a.StatsFor(b)!;
        Assert.Contains("'network-one'", stats.LastError);
        Assert.Contains("'network-two'", stats.LastError);
        Assert.Equal(0, stats.Sent);
        Assert.False(b.Transport.Inbound.TryRead(out var leaked), $"b accepted a message from another network: {leaked}");
    }

    [Fact]
    public async Task A_peer_that_is_not_the_expected_node_gets_nothing()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        var expected = new NodeId(99);

        await EventuallyAsync(
            () =>
            {
                a.Transport.Send(expected, b.Address, PeerMessage.Forwarding(Bytes("for node 99")));
                return a.Transport.GetLinkStats(expected)?.LastError?.Contains("not the expected node", StringComparison.Ordinal) == true;
            },
            () => $"a's link to node 99 to report that b answered: {a.Transport.GetLinkStats(expected)}");

        Assert.Equal(0, a.Transport.GetLinkStats(expected)!.Sent);
        Assert.False(b.Transport.Inbound.TryRead(out var leaked), $"b accepted a message meant for node 99: {leaked}");
    }

    [Fact]
    public async Task Link_stats_list_every_peer_with_its_counters()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        var c = await StartAsync(3);

        SendSequence(a, c, 3);
        SendSequence(a, b, 5);
        await ReceiveManyAsync(b, 5, "five messages from a");
        await ReceiveManyAsync(c, 3, "three messages from a");

        await EventuallyAsync(
            () => a.StatsFor(b) is { Sent: 5, Connected: true } && a.StatsFor(c) is { Sent: 3, Connected: true },
            () => $"a's links to count what they sent: {Describe(a.Transport)}");
        Assert.Equal([b.Node, c.Node], a.Transport.GetLinkStats().Select(s => s.Peer));
        Assert.Equal(b.Address, a.StatsFor(b)!.Address);
        Assert.Equal(5, b.StatsFor(a)!.Received);
        Assert.Equal(3, c.StatsFor(a)!.Received);
        Assert.Null(a.Transport.GetLinkStats(new NodeId(42)));
    }

    [Fact]
    public async Task The_connection_token_is_cancelled_when_the_peer_goes_down_and_a_fresh_one_follows()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        Assert.False(a.Transport.ConnectionLost(b.Node).CanBeCanceled, "no link to b yet: nothing to watch");
        await SendUntilReceivedAsync(a, b, "a to b before b goes down");
        var lost = a.Transport.ConnectionLost(b.Node);
        Assert.True(lost.CanBeCanceled);
        Assert.False(lost.IsCancellationRequested, "the connection to b is up");

        var restarted = await RestartAsync(b);

        await EventuallyAsync(() => lost.IsCancellationRequested, () => $"a to see its connection to b end: {a.Transport.GetLinkStats(b.Node)}");
        await SendUntilReceivedAsync(a, restarted, "a to b after b restarted");
        Assert.False(a.Transport.ConnectionLost(b.Node).IsCancellationRequested, "the new connection has a fresh token");
    }

    [Fact]
    public async Task Disposal_completes_the_inbound_channel_and_later_sends_are_ignored()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        Assert.True(a.Send(b, PeerMessage.Forwarding(Bytes("before"))));
        await ReceiveAsync(b, "the message before disposal");

        await a.DisposeAsync();

        await a.Transport.Inbound.Completion.WaitAsync(Patience);
        Assert.False(a.Send(b, PeerMessage.Forwarding(Bytes("after"))), "a send after disposal never leaves, and Send says so");
        Assert.False(b.Transport.Inbound.TryRead(out _));
    }

    protected async Task<TestPeer> StartAsync(ulong id, PeerTransportOptions? options = null, string networkId = "contract") =>
        await StartAtAsync(new NodeId(id), ReserveAddress(), options, networkId);

    protected async Task<TestPeer> StartAtAsync(NodeId node, string address, PeerTransportOptions? options = null, string networkId = "contract")
    {
        var peer = await BringUpAsync(node, address, options ?? TestOptions, networkId);
        _peers.Add(peer);
        return peer;
    }

    /// <summary>Stops <paramref name="peer"/> and starts the same node again at the same address.</summary>
    protected async Task<TestPeer> RestartAsync(TestPeer peer)
    {
        await peer.DisposeAsync();
        return await StartAtAsync(peer.Node, peer.Address, peer.Options, peer.NetworkId);
    }

    private static void SendSequence(TestPeer from, TestPeer to, int count)
    {
        for (int i = 0; i < count; i++)
        {
            from.Send(to, PeerMessage.Forwarding(BitConverter.GetBytes(i)));
        }
    }
}
