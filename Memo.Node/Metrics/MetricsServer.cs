using System.Net;
using Memo.Node.Api.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Memo.Node.Metrics;

// Design note: the metrics port is a second, small Kestrel host beside the gRPC one (ApiServer), plain HTTP/1.1, so
// Prometheus, a load balancer's probes and a browser reach it without gRPC or TLS, and so a flood of scrapes or page
// loads never takes connections or streams from the API. It serves only reads: OpenTelemetry's Prometheus exporter on
// /metrics (the node's meter, NodeMetrics and NodeStateMetrics, and .NET's own System.Runtime meter for CPU, GC and
// memory), liveness and readiness, and the dashboard: a static page embedded in this assembly that polls /ui/state,
// the same answers `memo cluster show|shards` get. It starts last and stops first with the node; readiness answers
// from the node's own serving state on every request.

/// <summary>
/// The node's metrics port (<c>memo.metrics.listen</c>): <c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c>,
/// <c>/ui</c> and <c>/ui/state</c>.
/// </summary>
public sealed partial class MetricsServer : IAsyncDisposable
{
    /// <summary>The Prometheus scrape path.</summary>
    public const string MetricsPath = "/metrics";

    private readonly WebApplication _app;
    private readonly NodeStateMetrics _state;
    private int _stopped;

    private MetricsServer(WebApplication app, NodeStateMetrics state, IPEndPoint endpoint)
    {
        _app = app;
        _state = state;
        Endpoint = endpoint;
    }

    /// <summary>The bound endpoint (the real port when 0 was asked).</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>The base URL of the port, <c>http://host:port</c>.</summary>
    public string Url => $"http://{(Endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Endpoint.Address}]" : Endpoint.Address.ToString())}:{Endpoint.Port}";

    /// <summary>Binds <paramref name="listen"/> and starts serving.</summary>
    /// <param name="listen">host:port (port 0 for a free one).</param>
    /// <param name="state">The per-node gauges to publish while the port serves (disposed with the server).</param>
    /// <param name="notServingReason">Why the node does not serve now, or null while it does (readiness).</param>
    /// <param name="dashboard">The node's state for the dashboard, gathered at call time.</param>
    /// <param name="otlpEndpoint">An OTLP collector to push the metrics to as well; null for none.</param>
    /// <param name="loggerFactory">Where the host logs.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<MetricsServer> StartAsync(string listen, NodeStateMetrics state, Func<string?> notServingReason,
        Func<DashboardState.Snapshot> dashboard, Uri? otlpEndpoint, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(notServingReason);
        ArgumentNullException.ThrowIfNull(dashboard);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (!ApiServer.TrySplitHostPort(listen, out var host, out var port))
        {
            throw new ArgumentException($"The metrics address '{listen}' is not host:port.", nameof(listen));
        }
        var address = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : host is "*" or "+" ? IPAddress.Any
            : IPAddress.TryParse(host, out var ip) ? ip
            : (await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
              ?? throw new IOException($"The metrics address '{listen}' does not resolve to an IP address.");

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(MetricsServer).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = 256;
            kestrel.Listen(address, port, l => l.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddRoutingCore();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(NodeMetrics.MeterName, "System.Runtime");
            metrics.AddPrometheusExporter();
            if (otlpEndpoint is not null)
            {
                metrics.AddOtlpExporter(o => o.Endpoint = otlpEndpoint);
            }
        });

        var app = builder.Build();
        app.UseRouting();
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        app.MapGet("/healthz", (RequestDelegate)(context => WriteText(context, StatusCodes.Status200OK, "ok\n")));
        app.MapGet("/readyz", (RequestDelegate)(context => notServingReason() is { } reason
            ? WriteText(context, StatusCodes.Status503ServiceUnavailable, "not ready: " + reason + "\n")
            : WriteText(context, StatusCodes.Status200OK, "ready\n")));
        app.MapGet("/", (RequestDelegate)(context =>
        {
            context.Response.Redirect("/ui");
            return Task.CompletedTask;
        }));
        app.MapGet("/ui", (RequestDelegate)(context => WriteResource(context, "index.html", "text/html; charset=utf-8")));
        app.MapGet("/ui/state", (RequestDelegate)(context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "no-store";
            return context.Response.Body.WriteAsync(DashboardState.ToJson(dashboard(), DateTimeOffset.UtcNow), context.RequestAborted).AsTask();
        }));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            state.Dispose();
            throw;
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                    ?? throw new InvalidOperationException("Kestrel reports no bound address for the metrics port.");
        var uri = new Uri(bound);
        var server = new MetricsServer(app, state, new IPEndPoint(IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port));
        LogStarted(loggerFactory.CreateLogger<MetricsServer>(), server.Url);
        return server;
    }

    private static Task WriteText(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }

    private static async Task WriteResource(HttpContext context, string name, string contentType)
    {
        await using var stream = typeof(MetricsServer).Assembly.GetManifestResourceStream("Memo.Node.Dashboard." + name);
        if (stream is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.ContentType = contentType;
        context.Response.ContentLength = stream.Length;
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Metrics, health and dashboard on {Url} (/metrics, /healthz, /readyz, /ui)")]
    private static partial void LogStarted(ILogger logger, string url);

    /// <summary>Stops serving and withdraws the node's gauges. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _state.Dispose();
    }

    internal static string NodeVersion() => Admin.AdminAnswers.NodeVersion;
}
