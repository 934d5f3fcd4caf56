using System.Net;
using System.Net.Sockets;
using Memo.Node.Api.Grpc;
using Memo.Node.Transport;
using Memo.Protocol.Grpc;

namespace Memo.Node.Tests.Transport;

/// <summary>The transport contract, run against <see cref="GrpcPeerTransport"/>: every node is a real gRPC server on 127.0.0.1.</summary>
public sealed class GrpcPeerTransportContractTests : PeerTransportContract
{
    private readonly Dictionary<string, Socket> _reserved = [];
    private readonly Lock _lock = new();

    protected override async Task<TestPeer> BringUpAsync(NodeId node, string address, PeerTransportOptions options, string networkId)
    {
        lock (_lock)
        {
            if (_reserved.Remove(address, out var placeholder))
            {
                placeholder.Dispose();
            }
        }
        var (transport, server) = await GrpcPeerHost.StartAsync(node, IPEndPoint.Parse(address), options, networkId);
        return new TestPeer(transport, address, options, networkId, async () =>
        {
            // The transport first: it ends the accepted streams the server would otherwise wait for.
            await transport.DisposeAsync();
            await server.DisposeAsync();
        });
    }

    /// <summary>
    /// A loopback port that refuses connections until a node starts on it: bound (so no one else gets it)
    /// but not listening. Starting a node there releases it first.
    /// </summary>
    protected override string ReserveAddress()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var address = ((IPEndPoint)socket.LocalEndPoint!).ToString();
        lock (_lock)
        {
            _reserved[address] = socket;
        }
        return address;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        lock (_lock)
        {
            foreach (var socket in _reserved.Values)
            {
                socket.Dispose();
            }
            _reserved.Clear();
        }
    }
}
