using System.Buffers.Binary;
using System.Net;
using Memo.Node.Api;
using Memo.Node.Api.Grpc;
using Memo.Node.Configuration;
using Memo.Node.Kvs;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Hosting;

/// <summary>
/// One running Memo node: data folder, node key, silo, shard replicas, key-value store, gRPC services.
/// Used by <c>Program</c> and, in-process, by tests.
/// </summary>
/// <remarks>
/// Start order is bottom-up (storage, shards, services, listener) and stop order top-down: stop accepting
/// calls and let in-flight ones finish, drain background work, drain every shard mailbox, then flush and
/// close the silo. Every acknowledged write was durable before it was acknowledged, so a crash at any
/// point loses nothing acknowledged; the orderly stop only avoids failing in-flight calls.
/// </remarks>
public sealed partial class MemoNode : IAsyncDisposable
{
    private const string ShardCountMeta = "network/shard-count";

    private readonly DataFolder _folder;
    private readonly MemoKeyPair _key;
    private readonly ISilo _silo;
    private readonly ShardRouter _router;
    private readonly GrpcServer _server;
    private readonly ILogger _logger;
    private int _stopped;

    private MemoNode(DataFolder folder, MemoKeyPair key, ISilo silo, ShardRouter router, GrpcServer server, ILogger logger)
    {
        _folder = folder;
        _key = key;
        _silo = silo;
        _router = router;
        _server = server;
        _logger = logger;
    }

    /// <summary>The address clients connect to, as host:port (the real port when 0 was configured).</summary>
    public string Address => Endpoint.ToString();

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
        ShardRouter? router = null;
        try
        {
            key = NodeIdentity.LoadOrCreate(folder);
            silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions
            {
                DataDirectory = folder.Path,
                Synchronous = options.Storage.Synchronous == StorageSynchronous.Normal ? SqliteSynchronousMode.Normal : SqliteSynchronousMode.Full,
                MaxBatchOperations = options.Storage.MaxBatchOperations,
                MaxBatchBytes = options.Storage.MaxBatchBytes,
                ReadConnections = options.Storage.ReadConnections,
                QueueCapacity = options.Storage.QueueCapacity,
            }, loggerFactory.CreateLogger<SqliteSilo>(), cancellationToken).ConfigureAwait(false);

            var shardCount = await FixShardCountAsync(silo, options.Shards.Count, logger, cancellationToken).ConfigureAwait(false);
            router = new ShardRouter(new ShardLayout(shardCount), silo,
                new ShardReplicaOptions(options.Shards.MailboxCapacity, options.Shards.MaxCommandsPerTurn), loggerFactory);
            var store = new KeyValueStore(router, silo, key,
                new KvsLimits(options.Kvs.MaxKeyBytes, options.Kvs.MaxValueBytes, options.Kvs.MaxListKeys, options.Kvs.DefaultListKeys),
                loggerFactory.CreateLogger<KeyValueStore>());

            var registry = new GrpcServiceRegistry();
            new KeyValueStoreService(store).Register(registry);
            new ValueStoreService(router, silo, key).Register(registry);

            var server = await GrpcServer.StartAsync(new GrpcServerOptions
            {
                Addresses = [options.Node.Listen],
                MaxReceiveMessageSize = (int)options.Grpc.MaxReceiveMessageSize,
                MaxSendMessageSize = (int)options.Grpc.MaxSendMessageSize,
                MaxConcurrentStreamsPerConnection = options.Grpc.MaxConcurrentStreams,
                ShutdownGracePeriod = options.Node.ShutdownGracePeriod,
            }, registry, loggerFactory, cancellationToken).ConfigureAwait(false);

            var node = new MemoNode(folder, key, silo, router, server, logger);
            LogStarted(logger, node.Address, folder.Path, shardCount, key.PublicKey.ToString());
            return node;
        }
        catch
        {
            if (router is not null) await router.DisposeAsync().ConfigureAwait(false);
            if (silo is not null) await silo.DisposeAsync().ConfigureAwait(false);
            key?.Dispose();
            folder.Dispose();
            throw;
        }
    }

    // The shard count is a property of the data, not of this start: the first start records it, later
    // starts use the recorded value even if the configuration changed.
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

    /// <summary>Stops gracefully: in-flight calls finish, queued writes become durable, storage closes.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        LogStopping(_logger, Address);
        await _server.StopAsync(cancellationToken).ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
        await _router.DisposeAsync().ConfigureAwait(false);
        await _silo.DisposeAsync().ConfigureAwait(false);
        _key.Dispose();
        _folder.Dispose();
        LogStopped(_logger);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
