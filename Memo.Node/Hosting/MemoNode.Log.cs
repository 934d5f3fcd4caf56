using Microsoft.Extensions.Logging;

namespace Memo.Node.Hosting;

public sealed partial class MemoNode
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Memo node listening on {Address} (gRPC) and {RemoteAddress} (Akka remoting), data in {DataDirectory}, {ShardCount} shards, node key {PublicKey}")]
    private static partial void LogStarted(ILogger logger, string address, string remoteAddress, string dataDirectory, int shardCount, string publicKey);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "This data folder was created with {Stored} shards; the configured {Configured} is ignored (the shard count is fixed when a network is created)")]
    private static partial void LogShardCountFixed(ILogger logger, int stored, int configured);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Stopping node {Address}")]
    private static partial void LogStopping(ILogger logger, string address);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Node stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Cluster node {NodeId} advertised at {Advertised}, network '{Network}', replication factor {Replication}")]
    private static partial void LogClusterIdentity(ILogger logger, NodeId nodeId, string advertised, string network, int replication);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "The peer transport failed while stopping; continuing the stop")]
    private static partial void LogPeerTransportStopFailed(ILogger logger, Exception exception);
}
