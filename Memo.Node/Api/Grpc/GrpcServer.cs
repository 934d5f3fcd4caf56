using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Api.Grpc;

/// <summary>
/// A gRPC server: Kestrel speaking HTTP/2 only, every request going to a <see cref="GrpcRequestDispatcher"/>.
/// </summary>
/// <remarks>
/// <para><b>Design note.</b> The gRPC NuGet packages do not restore in this build, so the node serves gRPC with a
/// small, standard implementation of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md) directly on Kestrel. Any gRPC
/// client (grpc-js, grpc-go, grpc-dotnet, our <c>Memo.Protocol.Grpc.GrpcChannel</c>) can call it.</para>
/// <para>Implemented: h2c with prior knowledge, or TLS with ALPN <c>h2</c> when a certificate is given; unary,
/// server-streaming, client-streaming and duplex methods; length-prefixed framing with receive and send limits (the
/// receive limit checked from the 5-byte prefix before the payload is buffered; payloads parsed in place from
/// the request pipe); responses as <c>:status 200</c>, <c>content-type: application/grpc</c>, messages, then
/// <c>grpc-status</c>/<c>grpc-message</c> trailers (percent-encoded), or trailers-only when the call fails before
/// its first message; HTTP 405 for non-POST and HTTP 415 for non-gRPC content types; UNIMPLEMENTED for unknown
/// methods; <c>grpc-timeout</c> turned into a deadline that cancels the handler's token and ends the call with
/// DEADLINE_EXCEEDED; client resets cancelling the handler's token; handler exceptions mapped to UNKNOWN with a
/// generic message (details logged, never sent); custom response headers and trailers; graceful stop (GOAWAY,
/// in-flight calls finish within a grace period).</para>
/// <para>Not implemented: message compression (a compressed request is answered UNIMPLEMENTED with
/// <c>grpc-accept-encoding: identity</c>; a compressed frame without <c>grpc-encoding</c> is INTERNAL), grpc-web,
/// the reflection and health services, and interceptors. Compression costs CPU on a path that mostly carries
/// already-compact protobuf and block data; grpc-web needs a proxy protocol nobody here uses.</para>
/// <para>Deadlines: when the deadline passes, the handler's token is cancelled and the status becomes
/// DEADLINE_EXCEEDED whatever the handler then returns; the response is sent once the handler returns, so the
/// request body stays valid for it (clients enforce the deadline locally as well).</para>
/// <para>Hosting: a bare <see cref="WebApplication.CreateEmptyBuilder"/> host with Kestrel only (no configuration
/// sources, no routing, no middleware), so per-request overhead is Kestrel's plus one dispatcher lookup in a frozen
/// table. Logs go to the given <see cref="ILoggerFactory"/>; ASP.NET Core's own categories are capped at
/// <see cref="GrpcServerOptions.FrameworkLogLevel"/> so its per-request lines stay off.</para>
/// </remarks>
public sealed partial class GrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private int _stopped;

    private GrpcServer(WebApplication app, GrpcRequestDispatcher dispatcher, IReadOnlyList<IPEndPoint> boundEndpoints, ILogger logger)
    {
        _app = app;
        Dispatcher = dispatcher;
        BoundEndpoints = boundEndpoints;
        _logger = logger;
    }

    /// <summary>The endpoints actually listened on (real ports where port 0 was asked), in option order.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints { get; }

    /// <summary>The dispatcher serving the calls.</summary>
    public GrpcRequestDispatcher Dispatcher { get; }

    /// <summary>Binds the endpoints and starts serving the methods of <paramref name="registry"/> (which is frozen).</summary>
    /// <exception cref="ArgumentException">The options are invalid (all problems listed).</exception>
    /// <exception cref="IOException">An endpoint could not be bound (e.g. the port is in use).</exception>
    public static async Task<GrpcServer> StartAsync(
        GrpcServerOptions options,
        GrpcServiceRegistry registry,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid gRPC server options: " + string.Join(" ", errors), nameof(options));
        }
        var endpoints = await ResolveEndpointsAsync(options, cancellationToken).ConfigureAwait(false);
        var dispatcher = new GrpcRequestDispatcher(registry, options, loggerFactory);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(GrpcServer).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft.AspNetCore", options.FrameworkLogLevel);
        builder.Logging.AddFilter("Microsoft.Hosting", options.FrameworkLogLevel);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", options.FrameworkLogLevel);
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownGracePeriod);
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, options, endpoints));

        var app = builder.Build();
        app.Run(dispatcher.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var bound = BoundAddresses(app, endpoints);
        var logger = loggerFactory.CreateLogger<GrpcServer>();
        LogStarted(logger, string.Join(", ", bound), options.Certificate is null ? "h2c" : "TLS h2");
        return new GrpcServer(app, dispatcher, bound, logger);
    }

    /// <summary>
    /// Stops gracefully: stops accepting connections, sends GOAWAY, lets in-flight calls finish within
    /// <see cref="GrpcServerOptions.ShutdownGracePeriod"/> (or until <paramref name="cancellationToken"/>), then
    /// aborts what is left (their handlers see their tokens cancelled). Idempotent.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        LogStopping(_logger);
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        LogStopped(_logger);
    }

    /// <summary>Stops (gracefully, as <see cref="StopAsync"/>) and releases the host.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Splits <c>host:port</c> (IPv6 hosts in brackets).</summary>
    internal static bool TrySplitHostPort(string address, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        if (string.IsNullOrWhiteSpace(address))
        {
            return false;
        }
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port > IPEndPoint.MaxPort)
        {
            return false;
        }
        host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':'))
        {
            return false;
        }
        return host.Length > 0;
    }

    private static void ConfigureKestrel(KestrelServerOptions kestrel, GrpcServerOptions options, IReadOnlyList<IPEndPoint> endpoints)
    {
        kestrel.AddServerHeader = false;
        var limits = kestrel.Limits;
        limits.MaxRequestBodySize = null;
        limits.MinRequestBodyDataRate = null;
        limits.MinResponseDataRate = null;
        limits.MaxConcurrentConnections = options.MaxConnections;
        limits.MaxConcurrentUpgradedConnections = 0;
        limits.Http2.MaxStreamsPerConnection = options.MaxConcurrentStreamsPerConnection;
        limits.Http2.InitialConnectionWindowSize = options.InitialConnectionWindowSize;
        limits.Http2.InitialStreamWindowSize = options.InitialStreamWindowSize;
        limits.Http2.MaxRequestHeaderFieldSize = options.MaxRequestHeaderFieldSize;
        limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
        limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
        foreach (var endpoint in endpoints)
        {
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (options.Certificate is { } certificate)
                {
                    listen.UseHttps(certificate);
                }
            });
        }
    }

    private static async Task<IReadOnlyList<IPEndPoint>> ResolveEndpointsAsync(GrpcServerOptions options, CancellationToken cancellationToken)
    {
        var endpoints = new List<IPEndPoint>(options.Endpoints);
        foreach (var address in options.Addresses)
        {
            TrySplitHostPort(address, out var host, out var port);
            IPAddress ip;
            if (host is "*" or "+")
            {
                ip = IPAddress.Any;
            }
            else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            {
                ip = IPAddress.Loopback;
            }
            else if (!IPAddress.TryParse(host, out ip!))
            {
                var resolved = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
                ip = resolved.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? resolved.FirstOrDefault()
                    ?? throw new IOException($"The listen address '{address}' does not resolve to an IP address.");
            }
            endpoints.Add(new IPEndPoint(ip, port));
        }
        return endpoints;
    }

    private static List<IPEndPoint> BoundAddresses(WebApplication app, IReadOnlyList<IPEndPoint> requested)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var bound = new List<IPEndPoint>(addresses.Count);
        foreach (var address in addresses)
        {
            var uri = new Uri(address);
            bound.Add(new IPEndPoint(IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port));
        }
        if (bound.Count != requested.Count)
        {
            throw new InvalidOperationException($"Kestrel reports {bound.Count} bound addresses for {requested.Count} endpoints.");
        }
        return bound;
    }
}
