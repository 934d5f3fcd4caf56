using System.Net;
using Akka.Actor;
using Akka.Remote;
using Akka.Remote.Transport;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using static Memo.Node.Tests.Transport.PeerTestKit;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// The transport contract, run against <see cref="AkkaPeerTransport"/>: every node is its own actor system with
/// Akka.Remote on a 127.0.0.1 port, named after its network id.
/// </summary>
public sealed class AkkaPeerTransportContractTests : PeerTransportContract
{
    private readonly ReservedLoopbackPorts _ports = new();
    private readonly Dictionary<NodeId, ActorSystem> _systems = [];
    private readonly Lock _lock = new();
    private readonly TestLoggerFactory _logs = new();
    private string _adapters = "";

    /// <summary>Akka cannot slow a remote sender down: a full inbound channel drops at the receiver.</summary>
    protected override bool FullInboundSlowsSenders => false;

    protected override Task<TestPeer> BringUpAsync(NodeId node, string address, PeerTransportOptions options, string networkId)
    {
        _ports.Release(address);
        var (system, transport) = AkkaPeerHost.Start(node, IPEndPoint.Parse(address), options, networkId, _logs, _adapters);
        lock (_lock)
        {
            _systems[node] = system;
        }
        return Task.FromResult(new TestPeer(transport, address, options, networkId, async () =>
        {
            // The transport first: the host owns the system and terminates it after.
            await transport.DisposeAsync();
            await system.Terminate();
        }));
    }

    /// <inheritdoc />
    protected override string ReserveAddress() => _ports.Reserve();

    [Fact]
    public async Task A_batch_that_names_another_members_node_id_is_dropped_and_the_genuine_one_delivered()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        // A process the network admits (same system name) whose batches name node 2, b's id, as their sender.
        var impostor = await StartAtAsync(b.Node, ReserveAddress());
        var receiver = (AkkaPeerTransport)a.Transport;
        receiver.MemberAddressOf = id => id == b.Node ? b.Address : null;

        impostor.Send(a, PeerMessage.Forwarding(Bytes("forged")));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (receiver.MisattributedBatches == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(1, receiver.MisattributedBatches);

        b.Send(a, PeerMessage.Forwarding(Bytes("genuine")));
        var received = await ReceiveAsync(a, "b's own message");
        Assert.Equal((b.Node, "genuine"), (received.From, Text(received)));
        Assert.False(a.Transport.Inbound.TryRead(out _), "nothing else reached a");
    }

    [Fact]
    public async Task A_batch_from_a_process_that_claims_another_members_address_is_dropped_without_its_link_key()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        var receiver = (AkkaPeerTransport)a.Transport;
        receiver.MemberAddressOf = id => id == b.Node ? b.Address : null;
        // The genuine member's batches carry the key a gave it in its hello answer, and pass.
        b.Send(a, PeerMessage.Forwarding(Bytes("genuine")));
        Assert.Equal((b.Node, "genuine"), (await ReceiveAsync(a, "b's message")) is var m ? (m.From, Text(m)) : default);
        Assert.Equal(0, receiver.UnauthenticatedBatches);

        // A process the network admits that binds its own port but claims b's address in its associations (Akka's
        // public-port), and writes straight to a's inbox from one of its actors: no hello, b's NodeId in the batch. The
        // address and NodeId checks pass; only the key, which a sends to b's address alone, is missing.
        var impostorEndpoint = IPEndPoint.Parse(_ports.Reserve());
        _ports.Release(impostorEndpoint.ToString());
        var (impostorSystem, impostorTransport) = AkkaPeerHost.Start(new NodeId(99), impostorEndpoint, TestOptions, a.NetworkId, _logs,
            publicPort: IPEndPoint.Parse(b.Address).Port);
        try
        {
            var inbox = impostorSystem.ActorSelection($"akka.tcp://{a.NetworkId}@{a.Address}/user/{PeerInboxActor.Name}");
            var sender = impostorSystem.ActorOf(Props.Empty, "impostor");
            var forged = new Memo.Node.Transport.Wire.PeerBatch { Format = PeerWire.Format, FromNode = b.Node.Value };
            forged.Frames.Add(PeerWire.ToFrame(PeerMessage.Forwarding(Bytes("forged"))));
            for (var i = 0; i < 150 && receiver.UnauthenticatedBatches == 0; i++)
            {
                inbox.Tell(forged, sender);
                await Task.Delay(100);
            }

            Assert.True(receiver.UnauthenticatedBatches > 0, $"a should have seen and dropped the impostor's batches (misattributed {receiver.MisattributedBatches})");
            Assert.Equal(0, receiver.MisattributedBatches);
            Assert.False(a.Transport.Inbound.TryRead(out var extra), $"nothing reached a: {(extra.Message.Body.Length > 0 ? Text(extra) : "")}");
        }
        finally
        {
            await impostorTransport.DisposeAsync();
            await impostorSystem.Terminate();
        }
    }

    [Fact]
    public async Task A_blackholed_association_loses_messages_until_the_throttle_is_lifted()
    {
        // Akka.Remote's own fault injection: the throttler adapter under every association of these systems.
        _adapters = "\"trttl\"";
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        a.Send(b, PeerMessage.Forwarding(Bytes("before")));
        b.Send(a, PeerMessage.Forwarding(Bytes("before")));
        Assert.Equal("before", Text(await ReceiveAsync(b, "a's message before the blackhole")));
        Assert.Equal("before", Text(await ReceiveAsync(a, "b's message before the blackhole")));
        var toB = new Address("akka.trttl.tcp", b.NetworkId, IPEndPoint.Parse(b.Address).Address.ToString(), IPEndPoint.Parse(b.Address).Port);
        var toA = new Address("akka.trttl.tcp", a.NetworkId, IPEndPoint.Parse(a.Address).Address.ToString(), IPEndPoint.Parse(a.Address).Port);
        var transportOfA = ((IRemoteActorRefProvider)((ExtendedActorSystem)_systems[a.Node]).Provider).Transport;
        var transportOfB = ((IRemoteActorRefProvider)((ExtendedActorSystem)_systems[b.Node]).Provider).Transport;

        // Blackholed at both ends: a throttle set on one system alone races messages the other had already written.
        Assert.True(await transportOfA.ManagementCommand(new SetThrottle(toB, ThrottleTransportAdapter.Direction.Both, Blackhole.Instance)));
        Assert.True(await transportOfB.ManagementCommand(new SetThrottle(toA, ThrottleTransportAdapter.Direction.Both, Blackhole.Instance)));
        a.Send(b, PeerMessage.Forwarding(Bytes("into the blackhole")));
        b.Send(a, PeerMessage.Forwarding(Bytes("out of the blackhole")));
        await EventuallyAsync(
            () => a.StatsFor(b) is { Sent: 2 } && b.StatsFor(a) is { Sent: 2 },
            () => $"both links to hand their message to Akka: {a.StatsFor(b)} / {b.StatsFor(a)}");
        // Handed to Akka is not yet written: a link sends on the caller's thread, so the message may still sit in Akka's
        // endpoint writer. Nothing may come through while the blackhole holds; waiting for that also lets the writer
        // reach the throttler before the test lifts it.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(b.Transport.Inbound.TryRead(out var leakedToB), $"b received through the blackhole: {leakedToB}");
        Assert.False(a.Transport.Inbound.TryRead(out var leakedToA), $"a received through the blackhole: {leakedToA}");
        Assert.True(await transportOfA.ManagementCommand(new SetThrottle(toB, ThrottleTransportAdapter.Direction.Both, Unthrottled.Instance)));
        Assert.True(await transportOfB.ManagementCommand(new SetThrottle(toA, ThrottleTransportAdapter.Direction.Both, Unthrottled.Instance)));
        a.Send(b, PeerMessage.Forwarding(Bytes("after a->b")));
        b.Send(a, PeerMessage.Forwarding(Bytes("after b->a")));

        // Per-link order holds, so the first message after the blackhole is the one sent after lifting it.
        Assert.Equal("after a->b", Text(await ReceiveAsync(b, "the first message after the blackhole")));
        Assert.Equal("after b->a", Text(await ReceiveAsync(a, "the first message after the blackhole")));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _ports.Dispose();
        Assert.True(FallbackTripwire.Tripped.IsEmpty, "Messages fell back to the System.Object serializer: " + string.Join(", ", FallbackTripwire.Tripped.Distinct()));
        var errors = _logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception}").ToList();
        Assert.True(errors.Count == 0, "The transport logged errors:\n" + string.Join("\n", errors));
    }
}
