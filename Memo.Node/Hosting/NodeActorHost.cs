using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Memo.Node.Api.Hosting;
using Memo.Node.Configuration;
using Memo.Node.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Hosting;

/// <summary>
/// The node's ActorSystem, run by Akka.Hosting in a generic host of its own: named after the network (Akka only
/// associates systems of one name, so a node of another network cannot talk to this one), with Akka remoting bound to
/// <c>memo.node.remote</c> for node-to-node and admin traffic, off the public gRPC port.
/// </summary>
/// <remarks>
/// <para>Configuration, first match wins: the remoting address (from <c>memo.node.remote</c>), then the operator's
/// <c>akka</c> section (<c>--config</c>/<c>--set</c>, passed through untouched by <see cref="MemoOptions"/>), then the
/// node's defaults below. Akka's log events go to the node's <see cref="ILoggerFactory"/>.</para>
/// <para>Shutdown belongs to the node's ordered stop (<see cref="MemoNode.StopAsync"/>): the CLR shutdown hook is off,
/// so SIGTERM does not run Akka's coordinated shutdown behind the node's back.</para>
/// </remarks>
public sealed class NodeActorHost : IAsyncDisposable
{
    // What the node needs whatever the operator sets: remoting, and no shutdown the node does not order.
    private static readonly Config NodeDefaults = ConfigurationFactory.ParseString("""
        akka.actor.provider = remote
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.loglevel = INFO
        akka.log-dead-letters = 10
        akka.log-dead-letters-during-shutdown = off
        """);

    private readonly IHost _host;
    private int _stopped;

    private NodeActorHost(IHost host, ActorSystem system, string remoteAddress)
    {
        _host = host;
        System = system;
        RemoteAddress = remoteAddress;
    }

    /// <summary>The node's ActorSystem.</summary>
    public ActorSystem System { get; }

    /// <summary>The host:port remoting is bound to (the real port when port 0 was configured).</summary>
    public string RemoteAddress { get; }

    /// <summary>Starts the ActorSystem with remoting bound.</summary>
    /// <param name="options">The node's options: <c>memo.node.remote</c> and the <c>akka</c> section.</param>
    /// <param name="networkName">The network's name, which names the ActorSystem.</param>
    /// <param name="loggerFactory">Where Akka's log events go.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<NodeActorHost> StartAsync(MemoOptions options, string networkName, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (!NodeOptions.TryParseHostPort(options.Node.Remote, out var host, out var port))
        {
            throw new MemoConfigurationException([$"memo.node.remote: '{options.Node.Remote}' is not host:port"]);
        }
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = typeof(NodeActorHost).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.Services.AddAkka(networkName, (akka, _) =>
        {
            // The merged tree holds memo's keys too; Akka reads only its own.
            akka.AddHocon(options.Config.WithFallback(NodeDefaults).WithFallback(AkkaPeerTransport.DefaultConfig), HoconAddMode.Prepend);
            akka.WithRemoting(new RemoteOptions { HostName = host, Port = port });
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
        });
        var app = builder.Build();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            app.Dispose();
            throw;
        }
        var system = app.Services.GetRequiredService<ActorSystem>();
        var bound = ((ExtendedActorSystem)system).Provider.DefaultAddress;
        var remote = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{bound.Port}" : $"{host}:{bound.Port}";
        return new NodeActorHost(app, system, remote);
    }

    /// <summary>Terminates the ActorSystem (coordinated shutdown) and stops its host. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }
}
