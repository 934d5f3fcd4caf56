using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>The transport contract, run against <see cref="InMemoryPeerTransport"/> on a fault-free network.</summary>
public sealed class InMemoryPeerTransportContractTests : PeerTransportContract
{
    private readonly InMemoryPeerNetwork _network = new(seed: 1);
    private int _addresses;

    protected override Task<TestPeer> BringUpAsync(NodeId node, string address, PeerTransportOptions options, string networkId)
    {
        var transport = _network.CreateTransport(node, address, options, networkId);
        return Task.FromResult(new TestPeer(transport, address, options, networkId, transport.DisposeAsync));
    }

    protected override string ReserveAddress() => $"memory/{Interlocked.Increment(ref _addresses)}";
}
