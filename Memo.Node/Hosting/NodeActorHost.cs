using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Memo.Admin;
using Memo.Node.Api.Hosting;
using Memo.Node.Configuration;
using Memo.Node.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Hosting;

/// <summary>
/// The node's ActorSystem, run by Akka.Hosting in a generic host of its own: named after the network (Akka only
/// associates systems of one name, so a node of another network cannot talk to this one), a member of an Akka.Cluster
/// (Akka.Cluster.Hosting) whose roles carry the node's identity, with Akka remoting bound to <c>memo.node.remote</c>
/// for node-to-node and admin traffic, off the public gRPC port. Downing is the split brain resolver, keep-majority,
/// stable after the network's eviction delay.
/// </summary>
/// <remarks>
/// <para>Configuration, first match wins: the remoting address (from <c>memo.node.remote</c>), then the operator's
/// <c>akka</c> section (<c>--config</c>/<c>--set</c>, passed through untouched by <see cref="MemoOptions"/>), then the
/// node's defaults below. Akka's log events go to the node's <see cref="ILoggerFactory"/>.</para>
/// <para>Shutdown belongs to the node's ordered stop (<see cref="MemoNode.StopAsync"/>), and a stop is not a leave: the
/// CLR shutdown hook is off and terminating the system does not run coordinated shutdown (whose cluster-leave phase
/// would make every restart re-replicate everything), so <see cref="StopAsync"/> terminates the system directly and
/// the other members see the node unreachable until it comes back. Coordinated shutdown runs only when the cluster
/// ends this member: after a real leave (<c>memo cluster leave</c>, reason <see cref="CoordinatedShutdown.ClusterLeavingReason"/>)
/// or when it was downed (<see cref="CoordinatedShutdown.ClusterDowningReason"/>); <see cref="Terminated"/> tells the
/// node which.</para>
/// </remarks>
public sealed class NodeActorHost : IAsyncDisposable
{
    // What the node needs whatever the operator sets: no shutdown the node does not order, no leave on stop, members
    // Up only through convergence (WeaklyUp members would get shards while the cluster cannot agree). Akka's scheduler
    // wakes every tick-duration whether or not a timer is due; its timers here (cluster heartbeats and gossip every
    // second, link hello and backoff timers, ask timeouts) need no 10 ms resolution, and an idle node woke 100 times
    // a second for them (docs/ARCHITECTURE.md, "The node's ActorSystem").
    private static readonly Config NodeDefaults = ConfigurationFactory.ParseString("""
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.coordinated-shutdown.exit-clr = off
        akka.cluster.allow-weakly-up-members = off
        akka.cluster.split-brain-resolver.down-all-when-unstable = off
        akka.cluster.log-info-verbose = off
        akka.loglevel = INFO
        akka.log-dead-letters = 10
        akka.log-dead-letters-during-shutdown = off
        akka.scheduler.tick-duration = 50ms
        """);

    private readonly IHost _host;
    private int _stopped;

    private NodeActorHost(IHost host, ActorSystem system, string remoteAddress)
    {
        _host = host;
        System = system;
        RemoteAddress = remoteAddress;
        Terminated = system.WhenTerminated.ContinueWith(
            _ => (CoordinatedShutdown.Reason?)CoordinatedShutdown.Get(system).ShutdownReason, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Completes when the ActorSystem has terminated, with the coordinated shutdown's reason: null when the node
    /// stopped it (<see cref="StopAsync"/>), <see cref="CoordinatedShutdown.ClusterLeavingReason"/> after a leave,
    /// <see cref="CoordinatedShutdown.ClusterDowningReason"/> when the cluster downed this member.</summary>
    public Task<CoordinatedShutdown.Reason?> Terminated { get; }

    /// <summary>The node's ActorSystem.</summary>
    public ActorSystem System { get; }

    /// <summary>The host:port remoting is bound to (the real port when port 0 was configured).</summary>
    public string RemoteAddress { get; }

    /// <summary>The largest frame Akka remoting sends or accepts (<c>akka.remote.dot-netty.tcp.maximum-frame-size</c>).</summary>
    public long MaxFrameBytes => System.Settings.Config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size", 0) ?? 0;

    /// <summary>Starts the ActorSystem with remoting bound and the cluster extension ready (joining is the membership's).</summary>
    /// <param name="options">The node's options: <c>memo.node.remote</c>, <c>memo.shards.handoff-timeout</c> and the
    /// <c>akka</c> section.</param>
    /// <param name="networkName">The network's name, which names the ActorSystem.</param>
    /// <param name="roles">The member roles (the node's identity).</param>
    /// <param name="evictionDelay">The split brain resolver's stable-after.</param>
    /// <param name="loggerFactory">Where Akka's log events go.</param>
    /// <param name="tls">Mutual TLS on remoting: this node's certificate (with its key) and the handshake check; null
    /// for plaintext remoting.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<NodeActorHost> StartAsync(MemoOptions options, string networkName, IEnumerable<string> roles, TimeSpan evictionDelay,
        ILoggerFactory loggerFactory, RemotingTls? tls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        CheckEvictionDelay(options, evictionDelay);
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
            // The merged tree holds memo's keys too; Akka reads only its own. The operator's akka section wins over the
            // node's defaults, which win over what the eviction delay and hand-off timeout imply.
            // Roles go in quoted: identity roles hold ':' and '=', which Akka.Hosting's ClusterOptions.Roles writes unquoted.
            var derived = ConfigurationFactory.ParseString(
                $"akka.cluster.roles = [{string.Join(", ", roles.Select(ConfigText.Quote))}]\n" +
                $"akka.cluster.split-brain-resolver.stable-after = {(long)evictionDelay.TotalMilliseconds}ms\n" +
                $"akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = {(long)options.Shards.HandoffTimeout.TotalMilliseconds}ms");
            // A node writes to every peer only over a connection it dialled itself (passive connections off), for two
            // reasons an operator's akka section cannot override:
            // - With passive connections Akka also writes over a connection the peer dialled, and a pair whose
            //   connections were reset on both sides can then lose one direction for good: a accepts b's redial, tells
            //   the reader of the connection a dialled to stop (b's is to take over), b's redial fails mid-handshake
            //   (a reset), and b, its own attempt gone, writes to a over a's connection, which a no longer reads. b's
            //   messages (heartbeat answers, gossip answers, Raft) are dropped unread while a's still reach b, and the
            //   pair stays unreachable on a healthy network until a connection breaks again (docs/testing.md,
            //   PairResetTests). With each side writing only on its own connection, a stopped reader there carries
            //   nothing but acknowledgements, which Akka still reads.
            // - With TLS, the certificate that answers at a member's address is then that member's
            //   (Security/PeerCertificates).
            // Cost: two TCP connections per pair of nodes instead of one.
            var forced = ConfigurationFactory.ParseString("akka.remote.use-passive-connections = off");
            akka.AddHocon(forced.WithFallback(options.Config).WithFallback(NodeDefaults).WithFallback(derived).WithFallback(AkkaPeerTransport.DefaultConfig)
                .WithFallback(AdminWire.SerializerConfig), HoconAddMode.Prepend);
            // With TLS the transport scheme becomes akka.ssl.tcp; every member and admin client must use it too.
            akka.WithRemoting(tls is null
                ? new RemoteOptions { HostName = host, Port = port }
                : new RemoteOptions
                {
                    HostName = host,
                    Port = port,
                    EnableSsl = true,
                    Ssl = new SslOptions
                    {
                        X509Certificate = tls.Certificate,
                        SuppressValidation = false,
                        RequireMutualAuthentication = true,
                        // Peers are named by the CA's subject, not by host name (IP-addressed members, one CA).
                        ValidateCertificateHostname = false,
                        CustomValidator = tls.Validator,
                    },
                });
            akka.WithClustering(new ClusterOptions { SplitBrainResolver = new KeepMajorityOption() });
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
        try
        {
            // An operator's akka section could rebind the admin messages; the CLI would then get no answer it can read.
            AdminWire.EnsureSerializer(system);
        }
        catch
        {
            await system.Terminate().ConfigureAwait(false);
            app.Dispose();
            throw;
        }
        var bound = ((ExtendedActorSystem)system).Provider.DefaultAddress;
        var remote = NodeOptions.FormatHostPort(host, bound.Port ?? 0);
        return new NodeActorHost(app, system, remote);
    }

    // Akka.Cluster's own reference configuration, for its defaults before any ActorSystem exists.
    private static readonly Lazy<Config> ClusterReference = new(() => ConfigurationFactory.FromResource<Akka.Cluster.Cluster>("Akka.Cluster.Configuration.Cluster.conf"));

    /// <summary>
    /// Refuses an eviction delay (the split brain resolver's stable-after) shorter than the failure detector's
    /// acceptable heartbeat pause in the node's akka configuration: it would down members that are only slow (measured
    /// here, 1 s for both split a healthy 4-node cluster on a loaded 2-core box, each side downing the other).
    /// Checked before anything of the start is stored.
    /// </summary>
    /// <exception cref="MemoConfigurationException">The delay is shorter than the pause.</exception>
    public static void CheckEvictionDelay(MemoOptions options, TimeSpan evictionDelay)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Pause = "akka.cluster.failure-detector.acceptable-heartbeat-pause";
        var pause = options.Config.WithFallback(NodeDefaults).WithFallback(ClusterReference.Value).GetTimeSpan(Pause, TimeSpan.Zero);
        if (evictionDelay < pause)
        {
            throw new MemoConfigurationException([
                $"memo.network.eviction-delay ({evictionDelay.TotalSeconds:0.###} s) is shorter than {Pause} ({pause.TotalSeconds:0.###} s): " +
                "members that only miss heartbeats for a while would be downed; raise the eviction delay or lower the pause"]);
        }
    }

    /// <summary>Terminates the ActorSystem without leaving the cluster (no coordinated shutdown; see the remarks) and
    /// disposes its host. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        await System.Terminate().ConfigureAwait(false);
        // Not _host.StopAsync: Akka.Hosting would run coordinated shutdown, and with it cluster-leave.
        _host.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
