using System.Net;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>The transport contract, run against <see cref="GrpcPeerTransport"/>: every node is a real Grpc.AspNetCore server on 127.0.0.1.</summary>
public sealed class GrpcPeerTransportContractTests : PeerTransportContract
{
    private readonly ReservedLoopbackPorts _ports = new();
    private readonly TestLoggerFactory _logs = new();

    protected override async Task<TestPeer> BringUpAsync(NodeId node, string address, PeerTransportOptions options, string networkId)
    {
        _ports.Release(address);
        var (transport, server) = await GrpcPeerHost.StartAsync(node, IPEndPoint.Parse(address), options, networkId, _logs);
        return new TestPeer(transport, address, options, networkId, async () =>
        {
            // The transport first: it ends the accepted streams the server would otherwise wait for.
            await transport.DisposeAsync();
            await server.DisposeAsync();
        });
    }

    /// <inheritdoc />
    protected override string ReserveAddress() => _ports.Reserve();

    [Fact]
    public async Task A_fault_injector_partition_drops_messages_both_ways_until_healed()
    {
        var a = await StartAsync(1);
        var b = await StartAsync(2);
        var faults = new PeerFaultInjector();
        ((GrpcPeerTransport)a.Transport).FaultInjector = faults;
        ((GrpcPeerTransport)b.Transport).FaultInjector = faults;
        a.Send(b, PeerMessage.Gossip(PeerTestKit.Bytes("before")));
        Assert.Equal("before", PeerTestKit.Text(await PeerTestKit.ReceiveAsync(b, "a message before the partition")));

        faults.Partition([a.Node], [b.Node]);
        a.Send(b, PeerMessage.Gossip(PeerTestKit.Bytes("cut a->b")));
        b.Send(a, PeerMessage.Gossip(PeerTestKit.Bytes("cut b->a")));

        faults.HealAll();
        a.Send(b, PeerMessage.Gossip(PeerTestKit.Bytes("healed a->b")));
        b.Send(a, PeerMessage.Gossip(PeerTestKit.Bytes("healed b->a")));
        // Per-link order holds, so the first message after the partition is the one sent after healing.
        Assert.Equal("healed a->b", PeerTestKit.Text(await PeerTestKit.ReceiveAsync(b, "the first message after healing")));
        Assert.Equal("healed b->a", PeerTestKit.Text(await PeerTestKit.ReceiveAsync(a, "the first message after healing")));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _ports.Dispose();
        var errors = GrpcPeerHost.Errors(_logs).ToList();
        Assert.True(errors.Count == 0, "A peer host logged errors:\n" + string.Join("\n", errors));
    }
}
