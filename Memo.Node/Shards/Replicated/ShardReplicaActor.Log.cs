using Memo.Node.Raft;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Replicated;

internal sealed partial class ShardReplicaActor
{
    // One warning per failure, with the reason (the supervisor logs nothing: its strategy's logging is off and the
    // incarnation stops itself instead of throwing to it).
    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Shard {Shard} replica on node {Node:x16} stopped ({Reason}); pending requests fail, new ones are answered Dropped, and its supervisor starts it again from the silo after a backoff ({MinBackoff} doubling up to {MaxBackoff})")]
    private partial void LogStopped(Exception exception, ShardId shard, ulong node, string reason, TimeSpan minBackoff, TimeSpan maxBackoff);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Shard {Shard} replica on node {Node:x16} restarted from the silo (incarnation {Incarnation})")]
    private partial void LogRestarted(ShardId shard, ulong node, int incarnation);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Warning, Message = "Shard {Shard} replica on node {Node:x16} could not be created ({Reason}); its supervisor tries again after a backoff")]
    private static partial void LogCreateFailed(Microsoft.Extensions.Logging.ILogger logger, Exception exception, ShardId shard, ulong node, string reason);
}
