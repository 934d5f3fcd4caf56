using Memo.Node.Raft;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Replicated;

internal sealed partial class ShardReplicaCore
{
    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Shard {Shard}: dropped a Raft message from node {From:x16}: {Reason}")]
    private partial void LogBadMessage(ShardId shard, ulong from, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Debug, Message = "Shard {Shard}: no address for node {To:x16}; {Kind} not sent")]
    private partial void LogNoAddress(ShardId shard, ulong to, RaftMessageKind kind);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Shard {Shard}: {Kind} to node {To:x16} of {Bytes} bytes exceeds the message limit; not sent")]
    private partial void LogMessageTooLarge(ShardId shard, ulong to, RaftMessageKind kind, int bytes);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "Shard {Shard}: committed entry {Index} is not a valid command; skipped on every replica")]
    private partial void LogCommandInvalid(Exception exception, ShardId shard, ulong index);

    // Warning: the node's own stores never propose a command for another shard or in another format, so one arriving
    // here came around them (the shard service, a faulty or hostile member).
    [LoggerMessage(EventId = 2108, Level = LogLevel.Warning, Message = "Shard {Shard}: refused committed entry {Index} on every replica: {Reason}")]
    private partial void LogCommandMisdirected(ShardId shard, ulong index, string reason);

    // Debug: a removal with a wrong signature or a conflicting write is also an ordinary client mistake.
    [LoggerMessage(EventId = 2109, Level = LogLevel.Debug, Message = "Shard {Shard}: committed entry {Index} refused by the write rules: {Reason}")]
    private partial void LogCommandRefused(ShardId shard, ulong index, string reason);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "Shard {Shard}: the snapshot at {Index} holds a record the state machine refuses ({Record}: {Reason}); not installed")]
    private partial void LogSnapshotRecordRefused(ShardId shard, ulong index, string record, string reason);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Shard {Shard}: state at {Index} exceeds the {MaxBytes}-byte snapshot limit; the log is not compacted")]
    private partial void LogSnapshotTooLarge(ShardId shard, ulong index, long maxBytes);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Debug, Message = "Shard {Shard}: snapshot at {Index} ({Bytes} bytes); log now starts at {FirstIndex}")]
    private partial void LogSnapshotMade(ShardId shard, ulong index, int bytes, ulong firstIndex);
}
