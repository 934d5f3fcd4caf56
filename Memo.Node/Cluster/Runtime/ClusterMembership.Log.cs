using Microsoft.Extensions.Logging;

namespace Memo.Node.Cluster.Runtime;

public sealed partial class ClusterMembership
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} forms a new cluster at {Remote}: network '{Network}', {Shards} shards, replication factor {Replication}")]
    private static partial void LogForming(ILogger logger, NodeId node, string remote, string network, int shards, int replication);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} joins through {Seeds}")]
    private static partial void LogJoining(ILogger logger, NodeId node, string seeds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} was a member before; it rejoins through {Members} (never alone)")]
    private static partial void LogRejoining(ILogger logger, NodeId node, string members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} forms the cluster again after a restart: {Reason}")]
    private static partial void LogFormingAfterRestart(ILogger logger, NodeId node, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} keeps rejoining: {Reason}")]
    private static partial void LogFormationWait(ILogger logger, NodeId node, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Node} at {Address} is asked to leave")]
    private static partial void LogLeave(ILogger logger, NodeId node, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Member {Node} at {Address} is declared Down by an operator")]
    private static partial void LogDown(ILogger logger, NodeId node, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Member at {Remote} is not placed: {Reason}")]
    private static partial void LogForeign(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Problem}")]
    private static partial void LogOwnNetworkRefused(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "A cluster view subscriber failed")]
    private static partial void LogSubscriberFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recording the members' endpoints in the silo failed; a restart rejoins through the seeds and the last recorded members")]
    private static partial void LogRecordFailed(ILogger logger, Exception exception);
}
