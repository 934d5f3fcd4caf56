using System.Net;
using Memo.Node.Api.Grpc;
using Memo.Protocol.Grpc;

namespace Memo.Node.Tests.Api.Grpc;

/// <summary>A gRPC server with the test service on an ephemeral loopback port, plus our client and a raw HTTP/2 client.</summary>
internal sealed class GrpcTestServer : IAsyncDisposable
{
    private GrpcTestServer(GrpcServer server, TestEchoService service, TestLoggerFactory logs, GrpcChannelOptions? channelOptions)
    {
        Server = server;
        Service = service;
        Logs = logs;
        var endpoint = server.BoundEndpoints[0];
        Target = $"{endpoint.Address}:{endpoint.Port}";
        Channel = new GrpcChannel(Target, channelOptions);
        Raw = new RawGrpcClient(new Uri($"http://{Target}"));
    }

    public GrpcServer Server { get; }

    public TestEchoService Service { get; }

    public TestLoggerFactory Logs { get; }

    public string Target { get; }

    public GrpcChannel Channel { get; }

    public RawGrpcClient Raw { get; }

    public static async Task<GrpcTestServer> StartAsync(
        GrpcServerOptions? options = null,
        GrpcChannelOptions? channelOptions = null,
        Action<GrpcServiceRegistry>? register = null)
    {
        var service = new TestEchoService();
        var registry = new GrpcServiceRegistry();
        service.Register(registry);
        register?.Invoke(registry);
        var logs = new TestLoggerFactory();
        options ??= new GrpcServerOptions();
        if (options.Endpoints.Count + options.Addresses.Count == 0)
        {
            options = WithLoopback(options);
        }
        var server = await GrpcServer.StartAsync(options, registry, logs, CancellationToken.None);
        return new GrpcTestServer(server, service, logs, channelOptions);
    }

    /// <summary>Proves the server still answers normal calls (after a malformed one).</summary>
    public async Task AssertServesAsync()
    {
        var response = await Channel.UnaryAsync(TestEchoService.Echo, TestEchoService.Request("still alive"));
        Assert.Equal("still alive", response.Value.ToStringUtf8());
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        Raw.Dispose();
        await Server.DisposeAsync();
    }

    private static GrpcServerOptions WithLoopback(GrpcServerOptions o) => new()
    {
        Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
        MaxReceiveMessageSize = o.MaxReceiveMessageSize,
        MaxSendMessageSize = o.MaxSendMessageSize,
        Certificate = o.Certificate,
        MaxConcurrentStreamsPerConnection = o.MaxConcurrentStreamsPerConnection,
        ShutdownGracePeriod = o.ShutdownGracePeriod,
    };
}
