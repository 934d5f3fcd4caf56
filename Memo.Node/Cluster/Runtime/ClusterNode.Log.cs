using Microsoft.Extensions.Logging;

namespace Memo.Node.Cluster.Runtime;

public sealed partial class ClusterNode
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} formed a new cluster at {Address}: network '{Network}', {Shards} shards, replication factor {Replication}")]
    private static partial void LogFormed(ILogger logger, NodeId node, string address, string network, int shards, int replication);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} resumes its recorded membership as {Status} ({Members} member records)")]
    private static partial void LogResumed(ILogger logger, NodeId node, MemberStatus status, int members);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} asks {Seed} to admit it")]
    private static partial void LogJoinAttempt(ILogger logger, NodeId node, string seed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Join through {Seed} refused: {Reason}")]
    private static partial void LogJoinRefused(ILogger logger, string seed, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Node {Node} stops trying to join: {Problem}")]
    private static partial void LogJoinGivenUp(ILogger logger, NodeId node, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} was admitted by {Seed}; {Members} member records")]
    private static partial void LogJoined(ILogger logger, NodeId node, NodeId seed, int members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Adopted the cluster's parameters: replication factor {Replication}, eviction delay {Eviction} (configured here: {ConfiguredReplication}, {ConfiguredEviction})")]
    private static partial void LogAdoptedParameters(ILogger logger, int replication, TimeSpan eviction, int configuredReplication, TimeSpan configuredEviction);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admitted node {Node} at {Address} as Joining")]
    private static partial void LogAdmitted(ILogger logger, NodeId node, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Node} at {Address}: {From} -> {To}")]
    private static partial void LogMemberMoved(ILogger logger, NodeId node, string address, MemberStatus from, MemberStatus to);

    [LoggerMessage(Level = LogLevel.Information, Message = "This node ({Node}) is now {Status}")]
    private static partial void LogSelfStatus(ILogger logger, NodeId node, MemberStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Member {Node} at {Address} is {State} to this node")]
    private static partial void LogReachability(ILogger logger, NodeId node, string address, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Downing member {Node} at {Address}: unreachable for the eviction delay ({Delay})")]
    private static partial void LogDowning(ILogger logger, NodeId node, string address, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Critical, Message = "NODE {Node} STOPS SERVING: {Reason}. Unreachable members: {Unreachable}. It waits to be downed or for the partition to heal.")]
    private static partial void LogStopServing(ILogger logger, NodeId node, StopServingReason reason, string unreachable);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} serves again")]
    private static partial void LogServingAgain(ILogger logger, NodeId node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Placement clamps the replication factor {Requested} to {Effective}: fewer Up members than replicas asked for")]
    private static partial void LogReplicationClamped(ILogger logger, int requested, int effective);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored gossip from {Node}: {Problem}")]
    private static partial void LogBadGossip(ILogger logger, NodeId node, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cluster input {Input} failed")]
    private static partial void LogInputFailed(ILogger logger, Exception exception, string input);

    [LoggerMessage(Level = LogLevel.Error, Message = "A cluster view subscriber threw")]
    private static partial void LogSubscriberFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} abandons the single-node cluster it formed to join through {Seed}")]
    private static partial void LogAbandonedOwnCluster(ILogger logger, NodeId node, string seed);
}
