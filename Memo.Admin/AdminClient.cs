using System.Diagnostics;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using Memo.Admin.Wire;

namespace Memo.Admin;

// Design note: admin over Akka remoting (docs/ARCHITECTURE.md, "Admin over remoting").
//
// `memo cluster ...` asks the node's admin actor (/user/memo-admin) over Akka remoting, on the node's remoting port, not
// the public gRPC port. The client is an ActorSystem of its own with provider = remote: it associates with the node's
// system like any remote system but never joins the cluster (a cluster member would take part in gossip, failure
// detection and downing for the length of one command). Its system has the network's name, as the node's has, but
// without the cluster provider it sends nothing a cluster would act on. Remoting binds to 127.0.0.1:0, so any number
// of clients can run at once; the node replies over the connection the client opened. Messages are the memo.admin protobuf messages
// under AdminWireSerializer, on both sides. The system logs nothing: standard output carries the command's result, and
// everything worth saying ends as this client's exceptions.

/// <summary>
/// Asks one node's admin actor to show the membership and the shards, or to change the membership (join, leave, down),
/// from a short-lived ActorSystem of its own (<c>provider = remote</c>, never a cluster member). Answers come back as
/// the <c>memo.admin</c> messages; refusals throw <see cref="AdminException"/>, an endpoint that does not answer
/// <see cref="AdminUnreachableException"/>, a resolved admin actor that does not answer in time <see cref="TimeoutException"/>.
/// </summary>
/// <remarks>Thread safety: calls may overlap. Dispose to terminate the ActorSystem (a CLI command does, before it exits).</remarks>
public sealed class AdminClient : IAsyncDisposable
{
    // Remoting on an ephemeral loopback port, no Akka logging at all (loggers = [] also stops the standard-out logger,
    // and stdout-loglevel = OFF keeps it quiet while the system starts and stops), no shutdown hook of its own.
    // Frames: a `cluster shards` answer of a large network is several MiB, more than Akka's default 128,000 bytes.
    internal static readonly Config ClientConfig = ConfigurationFactory.ParseString("""
        akka {
          loglevel = WARNING
          stdout-loglevel = OFF
          loggers = []
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          log-config-on-start = off
          actor.provider = remote
          remote {
            log-remote-lifecycle-events = off
            dot-netty.tcp {
              hostname = "127.0.0.1"
              port = 0
              maximum-frame-size = 16777216b
            }
          }
          coordinated-shutdown.run-by-clr-shutdown-hook = off
        }
        """).WithFallback(AdminWire.SerializerConfig);

    private readonly ActorSystem _system;
    private readonly IActorRef _actor;
    private long _nextCorrelationId;
    private int _disposed;

    private AdminClient(AdminEndpoint endpoint, TimeSpan timeout, ActorSystem system, bool secure)
    {
        Endpoint = endpoint;
        Timeout = timeout;
        _system = system;
        // With TLS the node's addresses use the akka.ssl.tcp scheme; a path with akka.tcp would name no transport.
        var path = secure ? endpoint.ActorPath.Replace("akka.tcp://", "akka.ssl.tcp://", StringComparison.Ordinal) : endpoint.ActorPath;
        _actor = system.ActorOf(AdminClientActor.Props(path, timeout), "admin-client");
    }

    /// <summary>The node asked.</summary>
    public AdminEndpoint Endpoint { get; }

    /// <summary>The time limit of each call (resolving the admin actor included).</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Starts the client's ActorSystem (a few hundred milliseconds); nothing is sent until the first call.</summary>
    /// <param name="endpoint">The node's remoting endpoint and network name.</param>
    /// <param name="timeout">The time limit of each call.</param>
    /// <param name="tls">Mutual TLS (a node whose remoting uses the network CA needs it); null for plaintext remoting.</param>
    public static AdminClient Start(AdminEndpoint endpoint, TimeSpan timeout, AdminTls? tls = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        // Named after the network, like the node's system: the node's peer transport takes an association from a system of
        // another name for a node of another network (it logs a warning and sends that system its hello).
        // With TLS the node answers over a connection it dials to this client's address (it checks the certificate there),
        // so the client listens on the interface it reaches the node through, not on loopback alone.
        var system = tls is null
            ? ActorSystem.Create(endpoint.Network, ClientConfig)
            : ActorSystem.Create(endpoint.Network, ActorSystemSetup.Create(
                BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString(
                    $"akka.remote.dot-netty.tcp.enable-ssl = on\nakka.remote.dot-netty.tcp.hostname = \"{LocalAddressTowards(endpoint)}\"").WithFallback(ClientConfig)),
                new DotNettySslSetup(tls.Certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false, tls.Validator)));
        try
        {
            AdminWire.EnsureSerializer(system);
            return new AdminClient(endpoint, timeout, system, tls is not null);
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(5));
            throw;
        }
    }

    // The local address the operating system would use to reach the node (a UDP connect sends nothing); loopback when
    // the node is local or the route cannot be found.
    private static string LocalAddressTowards(AdminEndpoint endpoint)
    {
        try
        {
            var addresses = System.Net.Dns.GetHostAddresses(endpoint.Host);
            if (addresses.Length == 0 || addresses.Any(System.Net.IPAddress.IsLoopback))
            {
                return "127.0.0.1";
            }
            using var probe = new System.Net.Sockets.Socket(addresses[0].AddressFamily, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            probe.Connect(addresses[0], endpoint.Port);
            return probe.LocalEndPoint is System.Net.IPEndPoint local ? local.Address.ToString() : "127.0.0.1";
        }
        catch (System.Net.Sockets.SocketException)
        {
            return "127.0.0.1";
        }
    }

    /// <summary>The membership as the node sees it.</summary>
    public async Task<ShowResponse> ShowAsync(CancellationToken cancellationToken = default) =>
        (await AskAsync(new AdminRequest { Show = new ShowRequest() }, AdminReply.ReplyOneofCase.Show, cancellationToken).ConfigureAwait(false)).Show;

    /// <summary>Every shard's replica set, with the leader and applied index the node knows.</summary>
    public async Task<ShardsResponse> ShardsAsync(CancellationToken cancellationToken = default) =>
        (await AskAsync(new AdminRequest { Shards = new ShardsRequest() }, AdminReply.ReplyOneofCase.Shards, cancellationToken).ConfigureAwait(false)).Shards;

    /// <summary>Tells the node (not a member yet) to join the cluster of the member whose remoting endpoint is <paramref name="seed"/>.</summary>
    public Task JoinAsync(string seed, CancellationToken cancellationToken = default) =>
        AskAsync(new AdminRequest { Join = new JoinRequest { Seed = seed ?? "" } }, AdminReply.ReplyOneofCase.Join, cancellationToken);

    /// <summary>Makes a member (id, API or remoting address; null: the node itself) leave; returns the member's id.</summary>
    public async Task<string> LeaveAsync(string? node = null, CancellationToken cancellationToken = default) =>
        (await AskAsync(new AdminRequest { Leave = new LeaveRequest { Node = node ?? "" } }, AdminReply.ReplyOneofCase.Leave, cancellationToken).ConfigureAwait(false)).Leave.Id;

    /// <summary>Downs a member (id, API or remoting address); returns the member's id.</summary>
    public async Task<string> DownAsync(string node, CancellationToken cancellationToken = default) =>
        (await AskAsync(new AdminRequest { Down = new DownRequest { Node = node ?? "" } }, AdminReply.ReplyOneofCase.Down, cancellationToken).ConfigureAwait(false)).Down.Id;

    /// <summary>Terminates the client's ActorSystem. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _system.Terminate().ConfigureAwait(false);
        }
    }

    private async Task<AdminReply> AskAsync(AdminRequest request, AdminReply.ReplyOneofCase expected, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var started = Stopwatch.GetTimestamp();
        object resolved;
        try
        {
            resolved = await _actor.Ask<object>(ResolveAdmin.Instance, Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException e)
        {
            throw new AdminUnreachableException(
                $"no admin actor answered at {Endpoint.ActorPath} within {Timeout.TotalSeconds:0.###}s: is a node of network '{Endpoint.Network}' " +
                $"listening for Akka remoting at {Endpoint.HostPort}, with that host written exactly as its --remote says (a node drops messages addressed to another network name or host name)? " +
                "A node whose remoting uses TLS answers only a client with --ca, --cert and --key (an administrator certificate from its network CA)", e);
        }
        if (resolved is AdminClientFailure failure)
        {
            throw new AdminUnreachableException(failure.Message);
        }

        request.CorrelationId = (ulong)Interlocked.Increment(ref _nextCorrelationId);
        var remaining = Timeout - Stopwatch.GetElapsedTime(started);
        object answer;
        try
        {
            answer = remaining > TimeSpan.Zero
                ? await _actor.Ask<object>(request, remaining, cancellationToken).ConfigureAwait(false)
                : throw new AskTimeoutException("no time left after resolving the admin actor");
        }
        catch (AskTimeoutException e)
        {
            throw new TimeoutException($"the admin actor at {Endpoint.ActorPath} did not answer within {Timeout.TotalSeconds:0.###}s", e);
        }
        switch (answer)
        {
            case AdminClientFailure { Unreachable: true } unreachable:
                throw new AdminUnreachableException(unreachable.Message);
            case AdminClientFailure other:
                throw new InvalidOperationException(other.Message);
            case AdminReply { ReplyCase: AdminReply.ReplyOneofCase.Error } error:
                throw new AdminException(error.Error.Code, error.Error.Message);
            case AdminReply reply when reply.ReplyCase == expected && reply.CorrelationId == request.CorrelationId:
                return reply;
            case AdminReply reply:
                throw new InvalidOperationException(
                    $"the admin actor answered request {request.CorrelationId} ({request.RequestCase}) with {reply.ReplyCase} for request {reply.CorrelationId}");
            default:
                throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} from the admin client actor");
        }
    }
}
