using System.Net;
using Memo.Node.Api.Grpc;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Memo.Protocol.Grpc;

namespace Memo.Node.Tests.Transport;

/// <summary>Starts a <see cref="GrpcPeerTransport"/> on its own gRPC server, as a node would.</summary>
internal static class GrpcPeerHost
{
    private static int _seed;

    public static async Task<(GrpcPeerTransport Transport, GrpcServer Server)> StartAsync(
        NodeId node,
        IPEndPoint endpoint,
        PeerTransportOptions options,
        string networkId,
        Action<GrpcServiceRegistry>? register = null)
    {
        var logs = new TestLoggerFactory();
        var seed = Interlocked.Increment(ref _seed);
        var transport = new GrpcPeerTransport(node, endpoint.ToString(), networkId, options, logs, new Random(seed));
        var registry = new GrpcServiceRegistry();
        transport.Register(registry);
        register?.Invoke(registry);
        try
        {
            var server = await GrpcServer.StartAsync(new GrpcServerOptions
            {
                Endpoints = [endpoint],
                MaxReceiveMessageSize = Math.Max(options.MaxBatchWireBytes, GrpcProtocol.DefaultMaxMessageSize),
                ShutdownGracePeriod = TimeSpan.FromSeconds(5),
            }, registry, logs, CancellationToken.None);
            return (transport, server);
        }
        catch
        {
            await transport.DisposeAsync();
            throw;
        }
    }
}
