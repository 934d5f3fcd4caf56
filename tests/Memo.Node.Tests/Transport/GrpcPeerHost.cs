using System.Net;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Memo.Node.Tests.Transport;

/// <summary>Starts a <see cref="GrpcPeerTransport"/> with its PeerService on a Grpc.AspNetCore server, as a node would.</summary>
internal static class GrpcPeerHost
{
    private static int _seed;

    /// <summary>Every entry at Error or above: a peer link must never end with an unexpected handler failure.</summary>
    public static IEnumerable<string> Errors(TestLoggerFactory logs) =>
        logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception}");

    /// <summary>
    /// Creates the transport announcing <paramref name="endpoint"/> and serves it there. The service's receive
    /// limit is the transport's largest batch, as the node must set it.
    /// </summary>
    public static async Task<(GrpcPeerTransport Transport, LoopbackGrpcServer Server)> StartAsync(
        NodeId node,
        IPEndPoint endpoint,
        PeerTransportOptions options,
        string networkId,
        TestLoggerFactory? logs = null,
        TimeSpan? shutdownTimeout = null)
    {
        logs ??= new TestLoggerFactory();
        var seed = Interlocked.Increment(ref _seed);
        var transport = new GrpcPeerTransport(node, endpoint.ToString(), networkId, options, logs, new Random(seed));
        try
        {
            var server = await LoopbackGrpcServer.StartAsync(
                endpoint,
                (services, grpc) =>
                {
                    services.AddSingleton(transport.Service);
                    grpc.AddServiceOptions<PeerLinkService>(o => o.MaxReceiveMessageSize = options.MaxBatchWireBytes);
                },
                app => app.MapGrpcService<PeerLinkService>(),
                logs,
                shutdownTimeout);
            return (transport, server);
        }
        catch
        {
            await transport.DisposeAsync();
            throw;
        }
    }
}
