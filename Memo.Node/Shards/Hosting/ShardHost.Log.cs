using Memo.Node.Shards.Replicated;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Hosting;

public sealed partial class ShardHost
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Founded the network's shard groups: {ShardCount} groups with this node as the only voter")]
    private partial void LogFounded(int shardCount);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Started the replica of shard {Shard} (bootstrap: {Bootstrap})")]
    private partial void LogReplicaStarted(ShardId shard, bool bootstrap);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Retired the replica of shard {Shard}: the group removed this node; its data is cleared; it was {Status}")]
    private partial void LogReplicaRetired(ShardId shard, ShardGroupStatus status);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Shard {Shard} group change {Step}: {Outcome}")]
    private partial void LogMove(ShardId shard, string step, string outcome);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "Shard {Shard} group change failed")]
    private partial void LogMoveFailed(Exception exception, ShardId shard);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Error, Message = "A shard hosting turn failed; the next turn retries")]
    private partial void LogTurnFailed(Exception exception);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "Counting what shard {Shard} holds failed; the last count stays")]
    private partial void LogUsageFailed(Exception exception, ShardId shard);
}
