using System.Net;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// The transport contract, run against <see cref="TcpPeerTransport"/>: every node is a transport with its own listener
/// on a 127.0.0.1 port, plain TCP (TLS has its own tests in <see cref="TcpPeerTransportTests"/>).
/// </summary>
public sealed class TcpPeerTransportContractTests : PeerTransportContract
{
    private readonly ReservedLoopbackPorts _ports = new();
    private readonly TestLoggerFactory _logs = new();

    protected override Task<TestPeer> BringUpAsync(NodeId node, string address, PeerTransportOptions options, string networkId)
    {
        _ports.Release(address);
        var transport = new TcpPeerTransport(node, networkId, IPEndPoint.Parse(address), advertisedAddress: null, options, _logs);
        Assert.Equal(address, transport.AdvertisedAddress);
        return Task.FromResult(new TestPeer(transport, address, options, networkId, transport.DisposeAsync));
    }

    /// <inheritdoc />
    protected override string ReserveAddress() => _ports.Reserve();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _ports.Dispose();
        var errors = _logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception}").ToList();
        Assert.True(errors.Count == 0, "The transport logged errors:\n" + string.Join("\n", errors));
    }
}
