using Memo.Node.Transport;
using Xunit.Abstractions;
using static Memo.Node.Tests.Transport.PeerTestKit;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// The faults the in-memory network injects. Cuts and loss are decided inside <see cref="IPeerTransport.Send"/>,
/// so their effect on the counters is visible as soon as Send returns; delays run on a manual clock.
/// </summary>
public sealed class InMemoryPeerNetworkTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<TestPeer> _peers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var peer in _peers)
        {
            await peer.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_partition_drops_both_directions_until_healed()
    {
        var network = new InMemoryPeerNetwork(seed: 1);
        var (a, b, c) = (Start(network, 1), Start(network, 2), Start(network, 3));

        network.Partition(a.Node, b.Node);
        a.Send(b, PeerMessage.Forwarding(Bytes("a to b, cut")));
        b.Send(a, PeerMessage.Forwarding(Bytes("b to a, cut")));
        c.Send(a, PeerMessage.Forwarding(Bytes("c to a")));
        c.Send(b, PeerMessage.Forwarding(Bytes("c to b")));

        Assert.Equal(1, a.StatsFor(b)!.DroppedUnreachable);
        Assert.Equal(1, b.StatsFor(a)!.DroppedUnreachable);
        Assert.Contains("cut", a.StatsFor(b)!.LastError);
        Assert.Equal(PeerLinkState.Unreachable, a.StatsFor(b)!.State);
        Assert.Equal("c to a", Text(await ReceiveAsync(a, "c's message across no partition")));
        Assert.Equal("c to b", Text(await ReceiveAsync(b, "c's message across no partition")));

        network.Heal(a.Node, b.Node);
        a.Send(b, PeerMessage.Forwarding(Bytes("a to b, healed")));
        b.Send(a, PeerMessage.Forwarding(Bytes("b to a, healed")));

        Assert.Equal("a to b, healed", Text(await ReceiveAsync(b, "a's message after the heal")));
        Assert.Equal("b to a, healed", Text(await ReceiveAsync(a, "b's message after the heal")));
    }

    [Fact]
    public async Task A_one_way_block_drops_only_that_direction()
    {
        var network = new InMemoryPeerNetwork(seed: 1);
        var (a, b) = (Start(network, 1), Start(network, 2));

        network.Block(a.Node, b.Node);
        a.Send(b, PeerMessage.Forwarding(Bytes("blocked")));
        b.Send(a, PeerMessage.Forwarding(Bytes("open")));

        Assert.Equal(1, a.StatsFor(b)!.DroppedUnreachable);
        Assert.Equal("open", Text(await ReceiveAsync(a, "b's message the other way")));
        Assert.Equal(0, b.StatsFor(a)!.Dropped);
        Assert.False(b.Transport.Inbound.TryRead(out _));
    }

    [Fact]
    public async Task Partitioning_two_groups_cuts_only_the_links_between_them()
    {
        var network = new InMemoryPeerNetwork(seed: 1);
        TestPeer[] nodes = [Start(network, 1), Start(network, 2), Start(network, 3), Start(network, 4)];
        network.Partition([nodes[0].Node, nodes[1].Node], [nodes[2].Node, nodes[3].Node]);

        foreach (var from in nodes)
        {
            foreach (var to in nodes.Where(n => n != from))
            {
                from.Send(to, PeerMessage.Forwarding(Bytes($"{from.Node}->{to.Node}")));
            }
        }

        foreach (var from in nodes)
        {
            foreach (var to in nodes.Where(n => n != from))
            {
                bool sameSide = Array.IndexOf(nodes, from) / 2 == Array.IndexOf(nodes, to) / 2;
                Assert.Equal(sameSide ? 0 : 1, from.StatsFor(to)!.DroppedUnreachable);
            }
        }
        foreach (var to in nodes)
        {
            var partner = nodes[Array.IndexOf(nodes, to) ^ 1];
            var received = await ReceiveAsync(to, $"the message from its side's partner {partner.Node}");
            Assert.Equal(partner.Node, received.From);
        }
    }

    [Fact]
    public async Task An_isolated_node_neither_sends_nor_receives_until_it_rejoins()
    {
        var network = new InMemoryPeerNetwork(seed: 1);
        var (a, b, c) = (Start(network, 1), Start(network, 2), Start(network, 3));

        network.Isolate(a.Node);
        a.Send(b, PeerMessage.Forwarding(Bytes("from the island")));
        b.Send(a, PeerMessage.Forwarding(Bytes("to the island")));
        b.Send(c, PeerMessage.Forwarding(Bytes("b to c")));

        Assert.Equal(1, a.StatsFor(b)!.DroppedUnreachable);
        Assert.Equal(1, b.StatsFor(a)!.DroppedUnreachable);
        Assert.Equal("b to c", Text(await ReceiveAsync(c, "b's message, unaffected by a's isolation")));

        network.Rejoin(a.Node);
        a.Send(b, PeerMessage.Forwarding(Bytes("back")));
        Assert.Equal("back", Text(await ReceiveAsync(b, "a's message after it rejoined")));
    }

    [Fact]
    public async Task Loss_drops_a_seeded_subset_silently_and_delivers_the_rest_in_order()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var network = new InMemoryPeerNetwork(seed);
        var (a, b) = (Start(network, 1), Start(network, 2));
        network.SetLoss(a.Node, b.Node, 0.3);
        const int count = 500;

        for (int i = 0; i < count; i++)
        {
            a.Send(b, PeerMessage.Forwarding(BitConverter.GetBytes(i)));
        }
        long lost = network.LostMessages;
        var received = await ReceiveManyAsync(b, count - (int)lost, $"the {count - lost} messages not lost (seed {seed})");

        Assert.InRange(lost, 1, count - 1);
        var sequence = received.Select(m => BitConverter.ToInt32(m.Message.Body.Span)).ToList();
        Assert.Equal(sequence.Order(), sequence);
        Assert.Equal(sequence.Count, sequence.Distinct().Count());
        // Loss is invisible to the sender, as a lost packet would be.
        Assert.Equal(0, a.StatsFor(b)!.Dropped);
    }

    [Fact]
    public async Task The_same_seed_loses_the_same_messages()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");

        var first = await DeliveredUnderLossAsync(seed, 1);
        var second = await DeliveredUnderLossAsync(seed, 10);

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task A_delay_holds_messages_until_the_clock_passes_it()
    {
        var clock = new ManualTimeProvider();
        var network = new InMemoryPeerNetwork(seed: 1, clock);
        var (a, b) = (Start(network, 1), Start(network, 2));
        network.SetDelay(a.Node, b.Node, TimeSpan.FromMilliseconds(100));

        for (int i = 0; i < 3; i++)
        {
            a.Send(b, PeerMessage.Forwarding(BitConverter.GetBytes(i)));
        }
        Assert.Equal(3, network.HeldMessages);
        clock.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal(3, network.HeldMessages);
        Assert.False(b.Transport.Inbound.TryRead(out _));

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, network.HeldMessages);
        var received = await ReceiveManyAsync(b, 3, "the three delayed messages once due");
        Assert.Equal([0, 1, 2], received.Select(m => BitConverter.ToInt32(m.Message.Body.Span)));
    }

    [Fact]
    public async Task Each_delayed_message_is_released_at_its_own_due_time()
    {
        var clock = new ManualTimeProvider();
        var network = new InMemoryPeerNetwork(seed: 1, clock);
        var (a, b) = (Start(network, 1), Start(network, 2));
        network.SetDelay(TimeSpan.FromMilliseconds(100));

        a.Send(b, PeerMessage.Forwarding(Bytes("first")));
        clock.Advance(TimeSpan.FromMilliseconds(50));
        a.Send(b, PeerMessage.Forwarding(Bytes("second")));
        clock.Advance(TimeSpan.FromMilliseconds(50));

        Assert.Equal(1, network.HeldMessages);
        Assert.Equal("first", Text(await ReceiveAsync(b, "the first message, due at 100 ms")));
        clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(0, network.HeldMessages);
        Assert.Equal("second", Text(await ReceiveAsync(b, "the second message, due at 150 ms")));
    }

    [Fact]
    public async Task A_cut_made_while_a_message_is_held_drops_it_on_release()
    {
        var clock = new ManualTimeProvider();
        var network = new InMemoryPeerNetwork(seed: 1, clock);
        var (a, b) = (Start(network, 1), Start(network, 2));
        network.SetDelay(a.Node, b.Node, TimeSpan.FromSeconds(1));

        a.Send(b, PeerMessage.Forwarding(Bytes("in flight")));
        network.Partition(a.Node, b.Node);
        clock.Advance(TimeSpan.FromSeconds(1));

        await EventuallyAsync(() => a.StatsFor(b)!.DroppedUnreachable == 1, () => $"the held message to be dropped at delivery: {a.StatsFor(b)}");
        Assert.False(b.Transport.Inbound.TryRead(out _));
    }

    [Fact]
    public async Task HealAll_removes_every_fault()
    {
        var clock = new ManualTimeProvider();
        var network = new InMemoryPeerNetwork(seed: 1, clock);
        var (a, b, c) = (Start(network, 1), Start(network, 2), Start(network, 3));
        network.Partition(a.Node, b.Node);
        network.Block(c.Node, a.Node);
        network.Isolate(c.Node);
        network.SetLoss(1.0);
        network.SetDelay(TimeSpan.FromHours(1));

        network.HealAll();
        a.Send(b, PeerMessage.Forwarding(Bytes("a to b")));
        c.Send(a, PeerMessage.Forwarding(Bytes("c to a")));
        b.Send(c, PeerMessage.Forwarding(Bytes("b to c")));

        Assert.Equal("a to b", Text(await ReceiveAsync(b, "a's message after HealAll")));
        Assert.Equal("c to a", Text(await ReceiveAsync(a, "c's message after HealAll")));
        Assert.Equal("b to c", Text(await ReceiveAsync(c, "b's message after HealAll")));
        Assert.Equal(0, network.LostMessages);
        Assert.Equal(0, network.HeldMessages);
    }

    [Fact]
    public async Task A_node_or_an_address_can_be_up_only_once()
    {
        var network = new InMemoryPeerNetwork(seed: 1);
        var a = Start(network, 1);

        Assert.Throws<InvalidOperationException>(() => network.CreateTransport(a.Node, "elsewhere"));
        Assert.Throws<InvalidOperationException>(() => network.CreateTransport(new NodeId(2), a.Address));

        await a.DisposeAsync();
        await using var again = network.CreateTransport(a.Node, a.Address);
        Assert.Equal(a.Node, again.LocalNode);
    }

    [Fact]
    public void Fault_settings_reject_impossible_values()
    {
        var network = new InMemoryPeerNetwork(seed: 1);

        Assert.Throws<ArgumentOutOfRangeException>(() => network.SetLoss(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => network.SetLoss(new NodeId(1), new NodeId(2), double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => network.SetDelay(TimeSpan.FromMilliseconds(-1)));
    }

    private async Task<List<int>> DeliveredUnderLossAsync(int seed, ulong firstId)
    {
        var network = new InMemoryPeerNetwork(seed);
        var (a, b) = (Start(network, firstId), Start(network, firstId + 1));
        network.SetLoss(0.5);
        const int count = 200;
        for (int i = 0; i < count; i++)
        {
            a.Send(b, PeerMessage.Forwarding(BitConverter.GetBytes(i)));
        }
        var received = await ReceiveManyAsync(b, count - (int)network.LostMessages, $"the messages not lost (seed {seed})");
        return [.. received.Select(m => BitConverter.ToInt32(m.Message.Body.Span))];
    }

    private TestPeer Start(InMemoryPeerNetwork network, ulong id)
    {
        var options = new PeerTransportOptions();
        var transport = network.CreateTransport(new NodeId(id), $"memory/{id}", options);
        var peer = new TestPeer(transport, transport.Address, options, transport.NetworkId, transport.DisposeAsync);
        _peers.Add(peer);
        return peer;
    }
}
