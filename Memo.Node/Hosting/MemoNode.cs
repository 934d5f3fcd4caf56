using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Memo.Admin;
using Memo.Node.Admin;
using Memo.Node.Api;
using Memo.Node.Api.Hosting;
using Memo.Node.Blocks.Copies;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Configuration;
using Memo.Node.Transport;
using Memo.Node.Kvs;
using Memo.Node.Metrics;
using OpenTelemetry.Trace;
using Memo.Node.Routing;
using Memo.Node.Security;
using Memo.Node.Raft;
using Memo.Node.Shards.Hosting;
using Memo.Node.Shards.Replicated;
using Memo.Node.Storage;
using Memo.Node.Storage.Policies;
using Memo.Protocol.Blocks;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Hosting;

/// <summary>
/// One running Memo node: data folder, node key, silo, ActorSystem (Akka.Cluster member), shard replicas, key-value
/// store, cluster membership (<see cref="Cluster"/>), peer transport (a TCP port of its own, or Akka.Remote:
/// <c>memo.peer.transport</c>), admin actor (<c>memo cluster</c> over remoting), public gRPC services. Used by
/// <c>Program</c> and, in-process, by tests.
/// </summary>
/// <remarks>
/// Start order is bottom-up (storage, cluster record, ActorSystem, peer transport, shard group replicas, admin actor,
/// services, listener, joining) and stop order top-down: stop the admin actor (no membership change can start during
/// the stop), stop following the membership, stop the shard replicas and the peer
/// links, stop accepting calls and let in-flight ones finish, terminate the ActorSystem (without leaving the cluster),
/// then flush and close the silo. Every acknowledged write was durable before it was acknowledged, so a crash at any
/// point loses nothing acknowledged; the orderly stop only avoids failing in-flight calls. The node also stops by
/// itself when the cluster ends its membership (it left, or was downed): <see cref="Exited"/> says which.
/// </remarks>
public sealed partial class MemoNode : IAsyncDisposable
{
    private const string ShardCountMeta = "network/shard-count";

    private readonly DataFolder _folder;
    private readonly MemoKeyPair _key;
    private readonly ISilo _silo;
    private readonly ShardHost _shards;
    private readonly TimerShardTickSource _ticks;
    private readonly ApiServer _server;
    private readonly NodeActorHost _actors;
    private readonly IPeerTransport _transport;
    private readonly string _advertised;
    private readonly ClusterMembership _cluster;
    private readonly Akka.Actor.IActorRef _admin;
    private readonly IPeerTransport _links;
    private readonly Task _inboundPump;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<MemoNodeExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NodeCertificates? _certificates;
    private MetricsServer? _metrics;
    private RevocationRefresher? _revocationRefresher;
    private OpenTelemetry.Trace.TracerProvider? _tracing;
    private long _refusedInbound;
    private int _stopped;

    private MemoNode(DataFolder folder, MemoKeyPair key, ISilo silo, ShardHost shards, TimerShardTickSource ticks,
        ApiServer server, NodeActorHost actors, IPeerTransport transport, IPeerTransport links, string advertised, ClusterMembership cluster,
        Akka.Actor.IActorRef admin, ILogger logger)
    {
        _admin = admin;
        _links = links;
        _folder = folder;
        _key = key;
        _silo = silo;
        _shards = shards;
        _ticks = ticks;
        _server = server;
        _actors = actors;
        _transport = transport;
        _advertised = advertised;
        _cluster = cluster;
        _logger = logger;
        _inboundPump = Task.Run(PumpInboundAsync);
        _ = WatchActorSystemAsync();
    }

    /// <summary>This node's membership: its published <see cref="ClusterMembership.View"/> (members, ring placement of
    /// every shard, reachability) and the admin operations.</summary>
    public ClusterMembership Cluster => _cluster;

    /// <summary>Completes once the node has stopped, with why: <see cref="MemoNodeExit.Stopped"/> after
    /// <see cref="StopAsync"/>, <see cref="MemoNodeExit.Left"/> after it left the cluster, <see cref="MemoNodeExit.Downed"/>
    /// when the cluster downed it (a minority side, or an operator's <c>memo cluster down</c>).</summary>
    public Task<MemoNodeExit> Exited => _exited.Task;

    /// <summary>This node's id in the cluster (drawn at the first start, kept in the data folder).</summary>
    public NodeId NodeId => _cluster.Self;

    /// <summary>The host:port clients reach this node's gRPC API at (<c>memo.node.advertise</c>, else the bound listen address).</summary>
    public string AdvertisedAddress => _advertised;

    /// <summary>The host:port Akka remoting is bound to (<c>memo.node.remote</c>, with the real port when 0 was configured).</summary>
    public string RemoteAddress => _actors.RemoteAddress;

    /// <summary>The node's ActorSystem, named after the network.</summary>
    public Akka.Actor.ActorSystem ActorSystem => _actors.System;

    /// <summary>The peer transport (every shard group's Raft messages), addressed by NodeId.</summary>
    public IPeerTransport PeerTransport => _transport;

    /// <summary>The transport under <see cref="PeerTransport"/> (<c>memo.peer.transport</c>): an <see cref="AkkaPeerTransport"/> or
    /// a <see cref="TcpPeerTransport"/>, addressed by member endpoint.</summary>
    public IPeerTransport PeerLinks => _links;

    /// <summary>The TCP peer transport's endpoint (<c>host:port</c>, advertised in the member role <c>peer=</c>), or null on
    /// Akka.Remote.</summary>
    public string? PeerAddress => (_links as TcpPeerTransport)?.AdvertisedAddress;

    /// <summary>Test seam: the fault injector of the peer links, whichever transport they run on (see <see cref="PeerFaultInjector"/>).</summary>
    public PeerFaultInjector? PeerFaults
    {
        get => _links switch
        {
            AkkaPeerTransport akka => akka.FaultInjector,
            TcpPeerTransport tcp => tcp.FaultInjector,
            _ => null,
        };
        set
        {
            switch (_links)
            {
                case AkkaPeerTransport akka:
                    akka.FaultInjector = value;
                    break;
                case TcpPeerTransport tcp:
                    tcp.FaultInjector = value;
                    break;
            }
        }
    }

    /// <summary>This node's shard group replicas, their hosting and rebalancing.</summary>
    public ShardHost Shards => _shards;

    /// <summary>The address clients connect to, as host:port (the real port when 0 was configured).</summary>
    public string Address => Endpoint.ToString();

    /// <summary>The metrics port's base URL (<c>http://host:port</c>), or null when <c>memo.metrics.listen</c> is empty.</summary>
    public string? MetricsUrl => _metrics?.Url;

    /// <summary>The bound listen endpoint.</summary>
    public IPEndPoint Endpoint => _server.BoundEndpoints[0];

    /// <summary>The data folder in use.</summary>
    public string DataDirectory => _folder.Path;

    /// <summary>The node's public key.</summary>
    public MemoPublicKey PublicKey => _key.PublicKey;

    /// <summary>Opens the data folder and starts serving.</summary>
    public static async Task<MemoNode> StartAsync(MemoOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var logger = loggerFactory.CreateLogger<MemoNode>();
        var folder = DataFolder.Open(options.Node.DataDirectory);
        MemoKeyPair? key = null;
        ISilo? silo = null;
        IPeerTransport? links = null;
        IPeerTransport? transport = null;
        ClusterMembership? cluster = null;
        ShardHost? shards = null;
        TimerShardTickSource? ticks = null;
        ApiServer? server = null;
        NodeActorHost? actors = null;
        NodeCertificates? certificates = null;
        MetricsServer? metrics = null;
        RevocationRefresher? revocationRefresher = null;
        OpenTelemetry.Trace.TracerProvider? tracing = null;
        var calls = new ApiCallCounts();
        try
        {
            // Traces only when a collector is configured: spans for each gRPC request (ASP.NET Core, continuing a
            // client's traceparent) and each hop of a forwarded request (NodeTracing), pushed with OTLP.
            if (options.Metrics.OtlpEndpoint.Length > 0)
            {
                tracing = OpenTelemetry.Sdk.CreateTracerProviderBuilder()
                    .AddSource(NodeTracing.SourceName)
                    .AddAspNetCoreInstrumentation()
                    .AddOtlpExporter(o => o.Endpoint = new Uri(options.Metrics.OtlpEndpoint))
                    .Build();
            }
            key = NodeIdentity.LoadOrCreate(folder);
            certificates = NodeCertificates.Load(options, folder);
            silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions
            {
                DataDirectory = folder.Path,
                Synchronous = options.Storage.Synchronous == StorageSynchronous.Normal ? SqliteSynchronousMode.Normal : SqliteSynchronousMode.Full,
                MaxBatchOperations = options.Storage.MaxBatchOperations,
                MaxBatchBytes = options.Storage.MaxBatchBytes,
                ReadConnections = options.Storage.ReadConnections,
                QueueCapacity = options.Storage.QueueCapacity,
                InlineCommits = options.Storage.InlineCommits,
                CopyFileThreshold = (int)options.Storage.CopyFileThreshold,
                WriterSpin = options.Storage.WriterSpin,
            }, loggerFactory.CreateLogger<SqliteSilo>(), cancellationToken).ConfigureAwait(false);

            NodeActorHost.CheckEvictionDelay(options, options.Network.EvictionDelay);
            var shardCount = await FixShardCountAsync(silo, options.Shards.Count, logger, cancellationToken).ConfigureAwait(false);
            var listen = ResolveListen(options.Node.Listen);
            var advertised = options.Node.Advertise.Length > 0 ? options.Node.Advertise : AdvertisedFrom(listen);
            // The cluster record and the shard count are metadata the policies leave plaintext: read before the silo is
            // sealed, since the record says which policies seal it.
            var clusterStore = await SiloClusterStore.OpenAsync(silo,
                new NetworkParameters(options.Network.Name, shardCount, options.Network.ReplicationFactor, options.Network.EvictionDelay,
                    new RaftTiming(options.Raft.TickInterval, options.Raft.ElectionTicks, options.Raft.LeaseReads), options.Network.DataPolicies,
                    options.Network.Versions, ReadOwner(options), options.Network.ErasureCoding),
                options.Cluster.VirtualNodesPerMember, certificates.CertifiedNode, cancellationToken).ConfigureAwait(false);
            certificates.CheckNode(clusterStore.Node, folder.Path, options.Node.Certificate);
            // The shard count of the data folder is authoritative; the record only repeats it.
            var network = clusterStore.Network with { ShardCount = shardCount };
            var timing = CheckRecordedTiming(network.Timing, options, logger);
            if (network.Versions != options.Network.Versions)
            {
                LogVersionsFixed(logger, network.Versions, options.Network.Versions);
            }
            if (network.ErasureCoding != options.Network.ErasureCoding && (network.ErasureCoding.IsOn || options.Network.ErasureCoding.IsOn))
            {
                LogErasureFixed(logger, network.ErasureCoding.ToString(), options.Network.ErasureCoding.ToString());
            }
            var access = NetworkAccessOf(network, options, logger);
            silo = await OpenSealedAsync(silo, network.DataPolicies, options, logger, cancellationToken).ConfigureAwait(false);
            if (options.Storage.EntryCacheBytes > 0)
            {
                silo = new EntryCacheSilo(silo, options.Storage.EntryCacheBytes);
            }
            // On a network with an owner a node stores data only with a storage passport for its key (docs/security.md,
            // "Storage passports"): checked here, shown to the cluster as a member role, checked by every member.
            var tickets = access is null ? null : new StorageTicketCheck(access);
            var storage = access is null ? null : StoragePassports.LoadOwn(folder.Path, key, clusterStore.Node, access, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
            var identity = MemberIdentity.Of(clusterStore.Node, advertised, clusterStore.Tokens, network) with { Storage = storage?.ToRole() };
            IEnumerable<string> roles = identity.ToRoles();
            if (options.Peer.Transport == PeerTransportKind.Tcp)
            {
                // Bound before the ActorSystem starts, so that the member role announces the real port.
                var tcp = StartTcpPeerTransport(options, clusterStore.Node, network.Name, certificates, loggerFactory);
                links = tcp;
                roles = roles.Append(RemoteRoleAddressing.PeerRoleOf(tcp.AdvertisedAddress));
            }
            actors = await NodeActorHost.StartAsync(options, network.Name, roles, network.EvictionDelay, loggerFactory, certificates.RemotingTls, cancellationToken).ConfigureAwait(false);
            if (certificates.Peers is { } peers)
            {
                peers.Refused += (peer, reason) => LogHandshakeRefused(logger, peer, reason);
                actors.System.ActorOf(MemberCertificateGuard.Props(peers, loggerFactory.CreateLogger<MemberCertificateGuard>()), "memo-certificate-guard");
            }
            // Raft knows peers by NodeId and API address; the links reach them at the endpoint their member advertises
            // for the chosen transport: its remoting address (Akka.Remote) or its TCP peer port.
            var akkaLinks = links is null ? new AkkaPeerTransport(actors.System, clusterStore.Node, new PeerTransportOptions(), loggerFactory) : null;
            links ??= akkaLinks!;
            transport = new RemoteRoleAddressing(links,
                peer => cluster is not null && cluster.View.Membership.TryGetMember(peer, out var member) ? member.Roles : null,
                akkaLinks is null ? RemoteRoleAddressing.PeerPrefix : RemoteRoleAddressing.RemotePrefix);
            cluster = new ClusterMembership(actors.System, identity, actors.RemoteAddress, network, clusterStore.KnownMembers, options.Node.Seeds,
                options.Shards.RingRemovalDelay, clusterStore, loggerFactory, admit: tickets is null ? null : tickets.Verify,
                peerTransport: options.Peer.Transport);
            if (akkaLinks is not null)
            {
                akkaLinks.MemberAddressOf = peer =>
                    cluster is not null && cluster.View.Membership.TryGetMember(peer, out var member) ? RemoteRoleAddressing.RemoteAddressIn(member.Roles) : null;
            }

            // Every shard is one Raft group; this node hosts the replicas the ring places on it.
            ticks = new TimerShardTickSource(TimeProvider.System, timing.TickInterval);
            var raftConfig = new RaftConfig
            {
                Id = clusterStore.Node,
                ElectionTicks = timing.ElectionTicks,
                HeartbeatTicks = options.Raft.HeartbeatTicks,
                LeaseReads = timing.LeaseReads,
                MaxInflightAppends = options.Raft.MaxInflightAppends,
                MaxAppendBytes = options.Raft.MaxAppendBytes,
                // Found by the API fuzzer: with the core's 4 MiB default, a value between 4 and 8 MiB (the default
                // memo.kvs.max-value-bytes) passed the API's checks and was refused by Raft, answering INTERNAL. An
                // entry carries at most one value with its key, block header and command framing (well under 64 KiB).
                MaxEntryBytes = Math.Max(4L << 20, options.Kvs.MaxValueBytes + options.Kvs.MaxKeyBytes + (64 << 10)),
                RandomSeed = clusterStore.Node.Value ^ (ulong)Environment.TickCount64,
            };
            var groupOptions = new ShardGroupOptions
            {
                MailboxCapacity = options.Shards.MailboxCapacity,
                MaxInputsPerTurn = options.Shards.MaxCommandsPerTurn,
                SnapshotThresholdEntries = options.Raft.SnapshotThreshold,
                TickInterval = timing.TickInterval,
                MinRestartBackoff = options.Shards.RestartBackoffMin,
                MaxRestartBackoff = options.Shards.RestartBackoffMax,
                TurnLoop = options.Shards.TurnLoop,
            };
            shards = await ShardHost.StartAsync(actors.System, clusterStore.Node, silo, transport, cluster, new ShardLayout(shardCount, access), raftConfig, groupOptions,
                new ShardHostOptions
                {
                    MaxConcurrentMoves = options.Shards.MaxConcurrentMoves,
                    UsageInterval = options.Shards.UsageInterval,
                    Copies = new BlockCopyOptions
                    {
                        AntiEntropyInterval = options.Shards.AntiEntropyInterval,
                        AntiEntropyMaxCopiesPerPass = options.Shards.AntiEntropyMaxCopies,
                    },
                }, ticks, loggerFactory, cancellationToken).ConfigureAwait(false);
            var gateway = new ClusterShardGateway(shards, new ClusterShardGatewayOptions { StaleReads = options.Kvs.ReadConsistency == ReadConsistency.Stale }, loggerFactory.CreateLogger<ClusterShardGateway>());
            var store = new KeyValueStore(gateway, key,
                new KvsLimits(options.Kvs.MaxKeyBytes, options.Kvs.MaxValueBytes, options.Kvs.MaxListKeys, options.Kvs.DefaultListKeys, options.Kvs.InlineValueBytes, options.Kvs.MaxListRows,
                    network.Versions, options.Kvs.WriteConsistency),
                loggerFactory.CreateLogger<KeyValueStore>());

            // `memo cluster ...` asks this actor over Akka remoting; the public port serves no admin service.
            var admin = actors.System.ActorOf(
                AdminActor.Props(cluster, shards.LeaderReport, actors.MaxFrameBytes - AkkaPeerTransport.EnvelopeAllowanceBytes, loggerFactory.CreateLogger<AdminActor>(),
                    shards.LocalReports, certificates.Peers),
                AdminWire.ActorName);

            // Passports (docs/security.md, "Authenticated clients"): on a network with an owner every memo.kvs and memo.vs
            // call passes the gate, and the node keeps a copy of the revocation list fresh.
            var revocations = new PassportRevocations();
            var gate = access is null ? null : new PassportGate(access, options.Security.RequirePassport != PassportRequirement.Off,
                options.Security.CallWindow, options.Security.MaxTrackedNonces, revocations, TimeProvider.System);
            if (access is not null)
            {
                actors.System.ActorOf(StoragePassportGuard.Props(tickets!, revocations, TimeProvider.System, options.Security.RevocationRefresh,
                    loggerFactory.CreateLogger<StoragePassportGuard>()), "memo-storage-guard");
                revocationRefresher = new RevocationRefresher(store, revocations, options.Security.RevocationRefresh, TimeProvider.System,
                    loggerFactory.CreateLogger<RevocationRefresher>());
            }
            var services = new ApiServices()
                .Add(new KeyValueStoreService(store, access), Memo.Protocol.Kvs.KeyValueStore.BindService, Memo.Protocol.Kvs.KeyValueStore.Descriptor, interceptor: gate,
                    requestParsers: KeyValueStoreService.RequestParsers(options.Kvs.InlineValueBytes))
                .Add(new ValueStoreService(gateway, key, network.Versions, network.ErasureCoding), Memo.Protocol.ValueStore.ValueStore.BindService, Memo.Protocol.ValueStore.ValueStore.Descriptor,
                    interceptor: gate);
            if (access is not null)
            {
                // Only a network with an owner has passports to revoke: without one the public port serves what it did.
                services.Add(new PassportsService(gateway, access, revocations, revocationRefresher), Memo.Protocol.Users.Wire.Passports.BindService,
                    Memo.Protocol.Users.Wire.Passports.Descriptor);
            }
            MemoNode? node = null;
            server = await ApiServer.StartAsync(new ApiServerOptions
            {
                Addresses = [listen],
                MaxReceiveMessageSize = (int)options.Grpc.MaxReceiveMessageSize,
                MaxSendMessageSize = (int)options.Grpc.MaxSendMessageSize,
                MaxConcurrentStreamsPerConnection = options.Grpc.MaxConcurrentStreams,
                DefaultDeadline = options.Grpc.DefaultDeadline,
                MaxConnectionsPerAddress = options.Grpc.MaxConnectionsPerAddress,
                RequestBufferBudget = options.Grpc.RequestBufferBudget,
                RequestBufferWait = options.Grpc.RequestBufferWait,
                MinRequestDataRate = options.Grpc.MinRequestDataRate,
                MinRequestDataRateGracePeriod = options.Grpc.MinRequestDataRateGracePeriod,
                ReceiveBlockSize = (int)options.Grpc.ReceiveBlockSize,
                ShutdownGracePeriod = options.Node.ShutdownGracePeriod,
                Certificate = certificates.Api,
                CallCounts = calls,
            }, services, () => node is null ? "the node is starting" : node.NotServingReason(), PublicServices, loggerFactory, cancellationToken).ConfigureAwait(false);

            if (options.Metrics.Enabled)
            {
                var (membership, shardHost) = (cluster, shards);
                metrics = await MetricsServer.StartAsync(options.Metrics.Listen, new NodeStateMetrics(membership, shardHost, transport),
                    () => node is null ? "the node is starting" : node.NotServingReason(),
                    () => new DashboardState.Snapshot(AdminAnswers.Show(membership.View),
                        AdminAnswers.Shards(membership.View, shardHost.LeaderReport, shardHost.LocalReports()),
                        calls.Calls, calls.Failures, shardHost.MovesInFlight, MetricsServer.NodeVersion()),
                    options.Metrics.OtlpEndpoint.Length > 0 ? new Uri(options.Metrics.OtlpEndpoint) : null,
                    loggerFactory, cancellationToken).ConfigureAwait(false);
            }
            node = new MemoNode(folder, key, silo, shards, ticks, server, actors, transport, links, advertised, cluster, admin, logger)
            {
                _certificates = certificates,
                _metrics = metrics,
                _revocationRefresher = revocationRefresher,
                _tracing = tracing,
            };
            if (certificates.Api is null && NodeOptions.TryParseHostPort(listen, out var listenHost, out _) && !ApiOptions.IsLoopback(listenHost))
            {
                LogInsecureApi(logger, node.Address);
            }
            AddHandoffTask(actors.System, shards, cluster.Self, options.Shards.HandoffTimeout, logger);
            LogStarted(logger, node.Address, actors.RemoteAddress, folder.Path, shardCount, key.PublicKey.ToString());
            LogClusterIdentity(logger, cluster.Self, advertised, network.Name, network.ReplicationFactor);
            cluster.Start();
            revocationRefresher?.Start();
            return node;
        }
        catch
        {
            // Stop listening first: a start that failed late must not leave the port bound.
            if (metrics is not null) await metrics.DisposeAsync().ConfigureAwait(false);
            if (revocationRefresher is not null) await revocationRefresher.DisposeAsync().ConfigureAwait(false);
            tracing?.Dispose();
            if (server is not null) await server.DisposeAsync().ConfigureAwait(false);
            if (cluster is not null) await cluster.DisposeAsync().ConfigureAwait(false);
            if (shards is not null) await shards.DisposeAsync().ConfigureAwait(false);
            if (transport is not null) await transport.DisposeAsync().ConfigureAwait(false);
            else if (links is not null) await links.DisposeAsync().ConfigureAwait(false);
            if (actors is not null) await actors.DisposeAsync().ConfigureAwait(false);
            ticks?.Dispose();
            if (silo is not null) await silo.DisposeAsync().ConfigureAwait(false);
            key?.Dispose();
            certificates?.Dispose();
            folder.Dispose();
            throw;
        }
    }

    /// <summary>The services whose health the node reports by name (beside the empty whole-server name).</summary>
    private static readonly string[] PublicServices = ["memo.kvs.KeyValueStore", "memo.vs.ValueStore"];

    // The health answer: serving only while this node is an Up member on the serving side and not stopping.
    private string? NotServingReason()
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return "the node is stopping";
        }
        var view = _cluster.View;
        if (!view.IsMember)
        {
            return "the node is not a cluster member yet";
        }
        return view.IsServing ? null : "the node is not serving: " + (view.Problem ?? "the cluster told it to stop");
    }

    // The shard count is a property of the data, not of this start: the first start records it, later
    // starts use the recorded value even if the configuration changed.
    // The data folder's timing is the network's and wins over the configuration, which only matters for a new network;
    // an operator who edited it is told, not silently ignored.
    // The data folder's policies were fixed at its creation: a configuration that differs now is ignored, as the Raft
    // timing is. With encryption, the KEK must open the data keys, else the node does not start.
    private static async Task<ISilo> OpenSealedAsync(ISilo silo, DataPolicies recorded, MemoOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        if (recorded != options.Network.DataPolicies)
        {
            LogPoliciesFixed(logger, recorded.ToString(), options.Network.DataPolicies.ToString());
        }
        // Read only when needed: a KEK left configured on a network that does not encrypt must not stop the node.
        var kek = recorded.EncryptAtRest
            ? KeyEncryptionKey.Load(options.Node.KekFile, KeyEncryptionKey.EnvironmentVariable, Environment.GetEnvironmentVariable)
            : null;
        var previous = recorded.EncryptAtRest
            ? KeyEncryptionKey.Load(options.Node.PreviousKekFile, KeyEncryptionKey.PreviousEnvironmentVariable, Environment.GetEnvironmentVariable)
            : null;
        var opened = await SealedSilo.OpenAsync(silo, recorded, kek, previous, cancellationToken).ConfigureAwait(false);
        LogDataPolicies(logger, recorded.ToString(), recorded.EncryptAtRest ? kek!.Source : "none");
        if (previous is not null)
        {
            // OpenAsync writes the ring back wrapped with the current KEK at every start, so the rotation is done.
            LogKekRotated(logger, kek!.Source, previous.Source);
        }
        return opened;
    }

    // memo.network.owner, for a new network: the owner's public key (PEM).
    private static MemoPublicKey? ReadOwner(MemoOptions options)
    {
        if (options.Network.Owner.Length == 0)
        {
            return null;
        }
        try
        {
            return Memo.Protocol.Users.MemoUser.PublicKeyFromPem(File.ReadAllText(options.Network.Owner));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new MemoConfigurationException([$"memo.network.owner = \"{options.Network.Owner}\": cannot read the owner's public key: {e.Message}"]);
        }
    }

    // The data folder's owner is the network's (recorded at its creation); a configuration that names another is
    // reported, not followed, as the other network parameters are. Passports required without an owner refuse to start.
    private static Security.NetworkAccess? NetworkAccessOf(NetworkParameters network, MemoOptions options, ILogger logger)
    {
        var configured = ReadOwner(options);
        if (configured is not null && !configured.Equals(network.Owner))
        {
            LogOwnerFixed(logger, network.Owner?.ToString() ?? "none", configured.ToString());
        }
        if (network.Owner is null)
        {
            if (options.Security.RequirePassport == PassportRequirement.On)
            {
                throw new MemoConfigurationException(["memo.security.require-passport = on: the network has no owner (its data folder recorded none at creation)"]);
            }
            return null;
        }
        LogNetworkOwner(logger, network.Owner.ToString(), options.Security.RequirePassport == PassportRequirement.Off ? "off" : "on");
        return new Security.NetworkAccess(network.Owner, network.Name);
    }

    private static RaftTiming CheckRecordedTiming(RaftTiming recorded, MemoOptions options, ILogger logger)
    {
        var configured = new RaftTiming(options.Raft.TickInterval, options.Raft.ElectionTicks, options.Raft.LeaseReads);
        if (configured != recorded)
        {
            LogTimingFixed(logger, recorded.ToString(), configured.ToString());
        }
        if (options.Raft.HeartbeatTicks >= recorded.ElectionTicks)
        {
            throw new MemoConfigurationException([
                $"memo.raft.heartbeat-ticks: {options.Raft.HeartbeatTicks} must be below the network's election-ticks ({recorded.ElectionTicks}, recorded in the data folder)"]);
        }
        return recorded;
    }

    private static async Task<int> FixShardCountAsync(ISilo silo, int configured, ILogger logger, CancellationToken cancellationToken)
    {
        var stored = await silo.ReadMetaAsync(ShardCountMeta, cancellationToken).ConfigureAwait(false);
        if (stored is { Length: 4 })
        {
            var count = BinaryPrimitives.ReadInt32BigEndian(stored);
            if (count != configured)
            {
                LogShardCountFixed(logger, count, configured);
            }
            return count;
        }
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, configured);
        await silo.CommitAsync(new SiloBatch().PutMeta(ShardCountMeta, bytes), cancellationToken).ConfigureAwait(false);
        return configured;
    }

    // Port 0 asks for an ephemeral port, but peers must be told the real one before the server starts (the peer
    // transport's hellos carry it): reserve a free port now and listen on it. The port is released between this probe
    // and the server's bind, so it is taken below the kernel's ephemeral range when the range is known: there no
    // outgoing connection can be given it meanwhile (a CI run's node failed to bind a port the probe had just freed).
    internal static string ResolveListen(string listen)
    {
        if (!NodeOptions.TryParseHostPort(listen, out var host, out var port) || port != 0)
        {
            return listen;
        }
        var address = BindAddressOf(host);
        var free = TryFreePortBelowEphemeralRange(address) ?? AnyFreePort(address);
        return NodeOptions.FormatHostPort(host, free);
    }

    // The local address a listen host binds: localhost the loopback, an IP itself, a name every interface.
    private static IPAddress BindAddressOf(string host) =>
        host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(host, out var ip) ? ip : IPAddress.Any;

    // memo.peer.transport = tcp: the listener on memo.node.peer (default: the remoting host, a free port below the
    // ephemeral range as for the API), with mutual TLS when remoting has the node certificate. Peers dial the host the
    // node is reached at: memo.node.peer-advertise when set, else memo.node.peer's own host unless it is a wildcard, else
    // the remoting host.
    private static TcpPeerTransport StartTcpPeerTransport(MemoOptions options, NodeId node, string network, NodeCertificates certificates,
        ILoggerFactory loggerFactory)
    {
        NodeOptions.TryParseHostPort(options.Node.Remote, out var remoteHost, out _);
        var configured = options.Node.Peer.Length > 0 ? options.Node.Peer : NodeOptions.FormatHostPort(remoteHost, 0);
        var listen = ResolveListen(configured);
        if (!NodeOptions.TryParseHostPort(listen, out var host, out var port))
        {
            throw new MemoConfigurationException([$"memo.node.peer: '{options.Node.Peer}' is not host:port"]);
        }
        // ResolveListen gave port 0 a concrete free port, so the address peers dial is known before the bind;
        // memo.node.peer-advertise replaces it when peers reach the node through something in between.
        var reachedAt = host is "0.0.0.0" or "::" ? remoteHost : host;
        var advertised = options.Node.PeerAdvertise.Length > 0 ? options.Node.PeerAdvertise : NodeOptions.FormatHostPort(reachedAt, port);
        var tls = certificates.Remoting is { } certificate && certificates.Peers is { } peers ? new TcpPeerTls(certificate, peers.Trust) : null;
        return new TcpPeerTransport(node, network, new IPEndPoint(BindAddressOf(host), port), advertised, new PeerTransportOptions(), loggerFactory, tls);
    }

    private const int LowestProbedPort = 10_000;

    private static int AnyFreePort(IPAddress address)
    {
        using var probe = new TcpListener(address, 0);
        probe.Start();
        var free = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return free;
    }

    // A random free port between LowestProbedPort and the ephemeral range's start (Linux's ip_local_port_range), or null
    // where the range is unknown or leaves no room.
    private static int? TryFreePortBelowEphemeralRange(IPAddress address)
    {
        if (EphemeralRangeStart() is not { } start || start - LowestProbedPort < 1_000)
        {
            return null;
        }
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var candidate = Random.Shared.Next(LowestProbedPort, start);
            try
            {
                using var probe = new TcpListener(address, candidate);
                probe.Start();
                probe.Stop();
                return candidate;
            }
            catch (SocketException)
            {
                // Taken: another try.
            }
        }
        return null;
    }

    /// <summary>The first port of the kernel's ephemeral range (the ports outgoing connections are given), or null.</summary>
    internal static int? EphemeralRangeStart()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return parts.Length == 2 && int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var start) ? start : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string AdvertisedFrom(string listen)
    {
        NodeOptions.TryParseHostPort(listen, out var host, out _);
        if (host is "0.0.0.0" or "::" or "*" or "+")
        {
            throw new MemoConfigurationException([
                $"memo.node.advertise: required when memo.node.listen ({listen}) is a wildcard address; set it to the host:port peers reach this node at"]);
        }
        return listen;
    }

    // One reader of the transport's inbound channel hands each message to its owner by channel kind. Neither owner
    // waits here: Raft messages go to the replicas' mailboxes, forwarded requests start and are answered later.
    private async Task PumpInboundAsync()
    {
        await foreach (var message in _transport.Inbound.ReadAllAsync().ConfigureAwait(false))
        {
            // Peer inputs only from current members: a process that is not (or no longer) one cannot vote, append or forward.
            if (!_cluster.View.Membership.TryGetMember(message.From, out var sender) || !sender.Status.IsLive())
            {
                if (Interlocked.Increment(ref _refusedInbound) % 1000 == 1)
                {
                    LogInboundFromNonMember(_logger, message.From, Interlocked.Read(ref _refusedInbound));
                }
                continue;
            }
            Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.Pump, (long)message.Message.Channel);
            switch (message.Message.Channel)
            {
                case PeerChannelKind.Raft:
                    _shards.Dispatcher.Dispatch(message);
                    break;
                case PeerChannelKind.Forwarding:
                    _shards.Forwarder.Receive(message);
                    break;
            }
        }
    }

    /// <summary>Stops gracefully without leaving the cluster: in-flight calls finish, queued writes become durable,
    /// storage closes. The other members see this node unreachable until it restarts on its data folder.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => StopInOrderAsync(MemoNodeExit.Stopped, cancellationToken);

    private async Task StopInOrderAsync(MemoNodeExit exit, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            await ((Task)_exited.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }
        try
        {
            // Health and readiness answer NOT_SERVING / 503 from here on (_stopped), so load balancers and clients move
            // away before the ports close; the metrics port closes last of the network endpoints for that reason.
            LogStopping(_logger, Address);
            if (_revocationRefresher is not null)
            {
                await _revocationRefresher.DisposeAsync().ConfigureAwait(false);
            }
            await StopAdminAsync().ConfigureAwait(false);
            await _cluster.DisposeAsync().ConfigureAwait(false);
            // The replicas stop before the links: what they applied is durable; calls still in flight are retried
            // elsewhere or end when the server's grace period does.
            await _shards.DisposeAsync().ConfigureAwait(false);
            _ticks.Dispose();
            await _transport.DisposeAsync().ConfigureAwait(false);
            await _inboundPump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await _server.StopAsync(cancellationToken).ConfigureAwait(false);
            await _server.DisposeAsync().ConfigureAwait(false);
            // Nothing runs on the ActorSystem any more: terminate it (without leaving) before the silo closes.
            await _actors.DisposeAsync().ConfigureAwait(false);
            if (_metrics is not null)
            {
                await _metrics.DisposeAsync().ConfigureAwait(false);
            }
            await _silo.DisposeAsync().ConfigureAwait(false);
            _key.Dispose();
            _certificates?.Dispose();
            _folder.Dispose();
            _tracing?.Dispose();
            LogStopped(_logger);
        }
        finally
        {
            _exited.TrySetResult(exit);
        }
    }

    private async Task StopAdminAsync()
    {
        try
        {
            await Akka.Actor.GracefulStopSupport.GracefulStop(_admin, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TaskCanceledException or OperationCanceledException or Akka.Actor.AskTimeoutException)
        {
            // The ActorSystem is already terminating (the cluster ended this member): the actor stops with it.
        }
    }

    // The cluster ends this member's ActorSystem when it left (after its hand-off) or was downed: the node stops then.
    private async Task WatchActorSystemAsync()
    {
        var reason = await _actors.Terminated.ConfigureAwait(false);
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }
        var exit = reason is Akka.Actor.CoordinatedShutdown.ClusterLeavingReason ? MemoNodeExit.Left : MemoNodeExit.Downed;
        if (exit == MemoNodeExit.Left)
        {
            LogLeftCluster(_logger, NodeId);
        }
        else
        {
            LogRemovedFromCluster(_logger, NodeId, reason?.ToString() ?? "the ActorSystem terminated");
        }
        try
        {
            await StopInOrderAsync(exit, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogSelfStopFailed(_logger, e);
            _exited.TrySetResult(exit);
        }
    }

    // A node that leaves for real (memo cluster leave) keeps serving its shard groups until every one has handed it
    // off: the task runs in coordinated shutdown before cluster-leave/cluster-exiting, so Akka removes the member only
    // after it (bounded by the phase's timeout, memo.shards.handoff-timeout).
    private static void AddHandoffTask(Akka.Actor.ActorSystem system, ShardHost shards, NodeId self, TimeSpan timeout, ILogger logger)
    {
        var shutdown = Akka.Actor.CoordinatedShutdown.Get(system);
        shutdown.AddTask(Akka.Actor.CoordinatedShutdown.PhaseClusterShardingShutdownRegion, "memo-shard-handoff", async () =>
        {
            if (shutdown.ShutdownReason is not Akka.Actor.CoordinatedShutdown.ClusterLeavingReason)
            {
                return Akka.Done.Instance;
            }
            LogHandoffWaiting(logger, self, timeout);
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                while (!shards.HandedOff(self))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token).ConfigureAwait(false);
                }
                LogHandoffDone(logger, self);
            }
            catch (OperationCanceledException)
            {
                LogHandoffTimedOut(logger, self, timeout);
            }
            return Akka.Done.Instance;
        });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
