using Microsoft.Extensions.Logging;

namespace Memo.Node.Hosting;

public sealed partial class MemoNode
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Memo node listening on {Address} (gRPC) and {RemoteAddress} (Akka remoting), data in {DataDirectory}, {ShardCount} shards, node key {PublicKey}")]
    private static partial void LogStarted(ILogger logger, string address, string remoteAddress, string dataDirectory, int shardCount, string publicKey);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "This data folder was created with {Stored} shards; the configured {Configured} is ignored (the shard count is fixed when a network is created)")]
    private static partial void LogShardCountFixed(ILogger logger, int stored, int configured);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Warning, Message = "The data folder records the network's Raft timing ({Recorded}); the configuration's ({Configured}) is ignored: the timing is fixed when the network is created")]
    private static partial void LogTimingFixed(ILogger logger, string recorded, string configured);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Warning, Message = "The data folder records the network's data policies ({Recorded}); the configuration's ({Configured}) is ignored: they are fixed when the network is created")]
    private static partial void LogPoliciesFixed(ILogger logger, string recorded, string configured);

    [LoggerMessage(EventId = 1017, Level = LogLevel.Information, Message = "Data policies: {Policies}; key-encryption key from {KekSource}")]
    private static partial void LogDataPolicies(ILogger logger, string policies, string kekSource);

    [LoggerMessage(EventId = 1018, Level = LogLevel.Information, Message = "The data keys are now wrapped with the key-encryption key from {Kek}; the previous one ({Previous}) is no longer needed: remove memo.node.previous-kek-file")]
    private static partial void LogKekRotated(ILogger logger, string kek, string previous);

    [LoggerMessage(EventId = 1019, Level = LogLevel.Warning, Message = "The data folder records that the network keeps {Recorded} versions per key; the configured memo.network.versions = {Configured} is ignored (it is fixed when the network is created)")]
    private static partial void LogVersionsFixed(ILogger logger, int recorded, int configured);

    [LoggerMessage(EventId = 1032, Level = LogLevel.Warning, Message = "The data folder records the network's {Recorded}; the configured {Configured} (memo.network.erasure, memo.network.erasure-threshold) is ignored (it is fixed when the network is created)")]
    private static partial void LogErasureFixed(ILogger logger, string recorded, string configured);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Stopping node {Address}")]
    private static partial void LogStopping(ILogger logger, string address);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Node stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Cluster node {NodeId} advertised at {Advertised}, network '{Network}', replication factor {Replication}")]
    private static partial void LogClusterIdentity(ILogger logger, NodeId nodeId, string advertised, string network, int replication);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Node {NodeId} left the cluster; stopping")]
    private static partial void LogLeftCluster(ILogger logger, NodeId nodeId);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Error, Message = "Node {NodeId} is no longer a member ({Reason}): it was downed (a minority side, or by an operator); stopping. Start it with an empty data folder to join again")]
    private static partial void LogRemovedFromCluster(ILogger logger, NodeId nodeId, string reason);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Error, Message = "The node failed while stopping itself")]
    private static partial void LogSelfStopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Node {NodeId} leaves: waiting up to {Timeout} for every shard group to hand it off")]
    private static partial void LogHandoffWaiting(ILogger logger, NodeId nodeId, TimeSpan timeout);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Node {NodeId} is handed off by every shard group")]
    private static partial void LogHandoffDone(ILogger logger, NodeId nodeId);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Node {NodeId} leaves before every shard group handed it off ({Timeout} passed); the groups re-replicate without it")]
    private static partial void LogHandoffTimedOut(ILogger logger, NodeId nodeId, TimeSpan timeout);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "TLS handshake with {Peer} refused: {Reason}")]
    private static partial void LogHandshakeRefused(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Warning, Message = "The gRPC API at {Address} serves cleartext on a non-loopback address (--insecure): anyone on the network can read and change every key; configure memo.api.tls")]
    private static partial void LogInsecureApi(ILogger logger, string address);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Warning, Message = "Dropped a peer message from {NodeId}, which is not a live cluster member ({Count} dropped so far)")]
    private static partial void LogInboundFromNonMember(ILogger logger, NodeId nodeId, long count);

    [LoggerMessage(EventId = 1030, Level = LogLevel.Warning, Message = "The network's owner is {Recorded}, recorded at its creation; the configured memo.network.owner ({Configured}) is ignored")]
    private static partial void LogOwnerFixed(ILogger logger, string recorded, string configured);

    [LoggerMessage(EventId = 1031, Level = LogLevel.Information, Message = "The network is owned by {Owner}: shards check writers' passports, the API requires passports: {Required}")]
    private static partial void LogNetworkOwner(ILogger logger, string owner, string required);
}
