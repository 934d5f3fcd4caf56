using System.Net;
using System.Net.Sockets;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// The node's gRPC port: Grpc.AspNetCore on Kestrel (HTTP/2 only) serving the given <see cref="ApiServices"/>, the
/// standard <c>grpc.health.v1.Health</c> service and gRPC server reflection.
/// </summary>
/// <remarks>
/// <para><b>Design note.</b> Framing, HTTP/2, status trailers, <c>grpc-timeout</c>, compression negotiation and
/// UNIMPLEMENTED for unknown services and methods are Grpc.AspNetCore's. This class only chooses the limits (message
/// sizes, streams per connection, connections in all and per client address (<see cref="ConnectionsPerAddress"/>),
/// windows, keep-alive pings, the block size of the memory Kestrel reads into (<see cref="ReceiveBlockPool"/>); all from
/// options), bounds the request bytes buffered across all calls and holds each
/// call's request body to the minimum data rate (<see cref="RequestBuffering"/>, <see cref="BudgetedRequestReader"/>;
/// Kestrel's own rate is off: on HTTP/2 it closes a whole connection), applies the server's
/// default deadline to unary calls that carry none (<see cref="DefaultDeadline"/>), and reports health
/// from the node's own state (<see cref="ServingHealthCheck"/>, evaluated on every Check; Watch sees changes within
/// the publisher period of 1 s). Handler exceptions other than <c>RpcException</c> end as UNKNOWN with a generic
/// message (detailed errors are off: details are logged, never sent).</para>
/// <para>Hosting: a <see cref="WebApplication.CreateEmptyBuilder"/> host with Kestrel, routing and gRPC only (no
/// configuration sources, no other middleware). Logs go to the given <see cref="ILoggerFactory"/>; ASP.NET Core's and
/// gRPC's own categories are capped at <see cref="ApiServerOptions.FrameworkLogLevel"/>.</para>
/// </remarks>
public sealed partial class ApiServer : IAsyncDisposable
{
    /// <summary>The health service name that stands for the whole node (the standard's empty name).</summary>
    public const string NodeHealthService = "";

    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private int _stopped;

    private ApiServer(WebApplication app, IReadOnlyList<IPEndPoint> boundEndpoints, ILogger logger, ReceiveBlockPool.Factory receiveBlocks)
    {
        _app = app;
        BoundEndpoints = boundEndpoints;
        _logger = logger;
        ReceiveBlocks = receiveBlocks;
    }

    /// <summary>The endpoints actually listened on (real ports where port 0 was asked), in option order.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints { get; }

    /// <summary>The pools Kestrel's transport and pipes use (<see cref="ApiServerOptions.ReceiveBlockSize"/>).</summary>
    internal ReceiveBlockPool.Factory ReceiveBlocks { get; }

    /// <summary>Whether Kestrel's socket transport, as configured, reads zero bytes before each read (tests).</summary>
    internal bool WaitsForDataBeforeReading =>
        _app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>>()
            .Value.WaitForDataBeforeAllocatingBuffer;

    /// <summary>Binds the endpoints and starts serving.</summary>
    /// <param name="options">Limits and endpoints; see <see cref="ApiServerOptions.Validate"/>.</param>
    /// <param name="services">The gRPC services to serve.</param>
    /// <param name="notServingReason">Why the node does not serve now, or null while it does (the health answer).</param>
    /// <param name="healthServices">Service names that report the node's health besides the empty (whole-server) name.</param>
    /// <param name="loggerFactory">Where the host logs.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="ArgumentException">The options are invalid (all problems listed).</exception>
    /// <exception cref="IOException">An endpoint could not be bound (e.g. the port is in use).</exception>
    public static async Task<ApiServer> StartAsync(
        ApiServerOptions options,
        ApiServices services,
        Func<string?> notServingReason,
        IReadOnlyList<string> healthServices,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(notServingReason);
        ArgumentNullException.ThrowIfNull(healthServices);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid gRPC server options: " + string.Join(" ", errors), nameof(options));
        }
        var endpoints = await ResolveEndpointsAsync(options, cancellationToken).ConfigureAwait(false);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ApiServer).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft.AspNetCore", options.FrameworkLogLevel);
        builder.Logging.AddFilter("Microsoft.Hosting", options.FrameworkLogLevel);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", options.FrameworkLogLevel);
        // The health check service logs every unhealthy result at Error, once a second while the node is not serving;
        // the node logs its own state changes.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        builder.Logging.AddFilter("Grpc", options.FrameworkLogLevel);
        // Per-request hosting diagnostics: when this category is enabled at all, ASP.NET starts an Activity and a
        // logging scope for every request.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownGracePeriod);
        builder.WebHost.UseKestrelCore();
        // Blocks larger than Kestrel's own 4 KiB (an opt-in for large values): Kestrel's transport takes its pools from
        // this factory (ReceiveBlockPool) and waits for data before renting a block, so an idle connection holds none
        // (a zero-byte read before each read: 16 more for a 1 MiB request at 64 KiB). At 4 KiB, the default, Kestrel's
        // own pool stays, and reads go straight into a block without the zero-byte read (Kestrel's default has it):
        // the larger blocks and the extra read cost small calls 11-18% of their rate on one node (docs/performance.md,
        // "Large values"; stop 21 has what the read alone measured).
        var receiveBlocks = new ReceiveBlockPool.Factory(options.ReceiveBlockSize);
        var waitsForData = options.ReceiveBlockSize > ReceiveBlockPool.MinBlockSize;
        if (waitsForData)
        {
            builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(receiveBlocks);
        }
        builder.WebHost.UseSockets(sockets => sockets.WaitForDataBeforeAllocatingBuffer = waitsForData);
        var perAddress = new ConnectionsPerAddress(options.MaxConnectionsPerAddress);
        var connectionLogger = loggerFactory.CreateLogger<ApiServer>();
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, options, endpoints, perAddress, connectionLogger));

        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxReceiveMessageSize;
            grpc.MaxSendMessageSize = options.MaxSendMessageSize;
            grpc.EnableDetailedErrors = false;
        });
        builder.Services.AddHealthChecks().AddCheck("node", new ServingHealthCheck(notServingReason));
        builder.Services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.Zero;
            publisher.Period = TimeSpan.FromSeconds(1);
        });
        builder.Services.AddGrpcHealthChecks(health =>
        {
            health.Services.Map(NodeHealthService, _ => true);
            foreach (var name in healthServices)
            {
                health.Services.Map(name, _ => true);
            }
        });
        services.Register(builder.Services, [global::Grpc.Health.V1.Health.Descriptor]);

        var app = builder.Build();
        app.UseRouting();
        app.Use(new RpcMetrics(options.CallCounts).ApplyAsync);
        app.Use(new DefaultDeadline(options.DefaultDeadline).ApplyAsync);
        app.Use(new RequestBuffering(new RequestBufferLimits(new RequestBufferBudget(options.RequestBufferBudget), options.RequestBufferWait,
            options.MinRequestDataRate, options.MinRequestDataRateGracePeriod, TimeProvider.System)).ApplyAsync);
        services.Map(app);
        app.MapGrpcHealthChecksService();
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
        var logger = loggerFactory.CreateLogger<ApiServer>();
        LogStarted(logger, string.Join(", ", bound), options.Certificate is null ? "h2c" : "TLS h2");
        return new ApiServer(app, bound, logger, receiveBlocks);
    }

    /// <summary>
    /// Stops gracefully: stops accepting connections, sends GOAWAY, lets in-flight calls finish within
    /// <see cref="ApiServerOptions.ShutdownGracePeriod"/> (or until <paramref name="cancellationToken"/>), then
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

    private static void ConfigureKestrel(KestrelServerOptions kestrel, ApiServerOptions options, IReadOnlyList<IPEndPoint> endpoints,
        ConnectionsPerAddress perAddress, ILogger logger)
    {
        kestrel.AddServerHeader = false;
        var limits = kestrel.Limits;
        limits.MaxRequestBodySize = null;
        // Off: on HTTP/2 Kestrel's minimum request body rate is one average over all of a connection's streams (bytes
        // read over every heartbeat second in which any stream waited for body data) and closes the whole connection
        // when it falls below. A busy client on a starved machine (small unary bodies whose frames arrive a moment
        // apart) fell below it and lost every call in flight with "connection reset by peer". BudgetedRequestReader
        // applies memo.grpc.min-request-data-rate per call instead (StarvedClientTests, ResourceAttackTests).
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
                // Before TLS, so a refused connection costs no handshake.
                listen.Use(next => context => CountPerAddressAsync(context, next, perAddress, logger));
                if (options.Certificate is { } certificate)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate, SslProtocols = SslProtocols.Tls13 });
                }
            });
        }
    }

    private static async Task CountPerAddressAsync(ConnectionContext connection, ConnectionDelegate next, ConnectionsPerAddress perAddress, ILogger logger)
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }
        if (!perAddress.TryAdd(remote.Address, out var key))
        {
            LogConnectionRefused(logger, key.ToString(), perAddress.Limit);
            connection.Abort(new ConnectionAbortedException($"{key} already holds {perAddress.Limit} connections (memo.grpc.max-connections-per-address)."));
            return;
        }
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            perAddress.Remove(key);
        }
    }

    private static async Task<IReadOnlyList<IPEndPoint>> ResolveEndpointsAsync(ApiServerOptions options, CancellationToken cancellationToken)
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
