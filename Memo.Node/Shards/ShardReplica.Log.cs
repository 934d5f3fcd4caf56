using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards;

public sealed partial class ShardReplica
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Shard {Shard}: command could not be applied")]
    private partial void LogCommandFailed(Exception exception, ShardId shard);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Shard {Shard}: commit of {Count} commands failed; they are reported as failed")]
    private partial void LogCommitFailed(Exception exception, ShardId shard, int count);
}
