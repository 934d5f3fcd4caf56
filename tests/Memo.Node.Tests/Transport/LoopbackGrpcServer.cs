using System.Net;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// The smallest Grpc.AspNetCore host: Kestrel on one loopback endpoint, cleartext HTTP/2 only, the services the
/// test maps, and every log entry forwarded to the test's logger factory.
/// </summary>
internal sealed class LoopbackGrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private LoopbackGrpcServer(WebApplication app, IPEndPoint endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    /// <summary>Where the server listens (the actual port when it was asked for port 0).</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>The endpoint as <c>host:port</c>, the form peer addresses take.</summary>
    public string Address => Endpoint.ToString();

    /// <param name="endpoint">Where to listen; port 0 picks a free one.</param>
    /// <param name="configure">Registers the services (and their options) on the gRPC builder.</param>
    /// <param name="map">Maps the gRPC services.</param>
    /// <param name="logs">Receives the host's log entries (Grpc.AspNetCore's handler failures among them).</param>
    /// <param name="shutdownTimeout">How long a graceful stop waits for open calls.</param>
    public static async Task<LoopbackGrpcServer> StartAsync(
        IPEndPoint endpoint,
        Action<IServiceCollection, IGrpcServerBuilder> configure,
        Action<WebApplication> map,
        ILoggerFactory logs,
        TimeSpan? shutdownTimeout = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(5));
        builder.Logging.AddProvider(new ForwardingProvider(logs));
        builder.Services.AddRoutingCore();
        configure(builder.Services, builder.Services.AddGrpc());
        var app = builder.Build();
        map(app);
        try
        {
            await app.StartAsync();
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new LoopbackGrpcServer(app, new IPEndPoint(endpoint.Address, new Uri(bound).Port));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops gracefully: new calls are refused, open ones get up to the shutdown timeout to end.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed class ForwardingProvider(ILoggerFactory logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logs.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
