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

    /// <summary>Every entry at Error or above: a peer link must never end with an unexpected handler failure.</summary>
    public static IEnumerable<string> Errors(TestLoggerFactory logs) =>
        logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception}");

    public static async Task<(GrpcPeerTransport Transport, GrpcServer Server)> StartAsync(
        NodeId node,
        IPEndPoint endpoint,
        PeerTransportOptions options,
        string networkId,
        TestLoggerFactory? logs = null,
        TimeSpan? shutdownGracePeriod = null)
    {
        logs ??= new TestLoggerFactory();
        var seed = Interlocked.Increment(ref _seed);
        var transport = new GrpcPeerTransport(node, endpoint.ToString(), networkId, options, logs, new Random(seed));
        var registry = new GrpcServiceRegistry();
        transport.Register(registry);
        try
        {
            var server = await GrpcServer.StartAsync(new GrpcServerOptions
            {
                Endpoints = [endpoint],
                MaxReceiveMessageSize = Math.Max(options.MaxBatchWireBytes, GrpcProtocol.DefaultMaxMessageSize),
                ShutdownGracePeriod = shutdownGracePeriod ?? TimeSpan.FromSeconds(5),
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
