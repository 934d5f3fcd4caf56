namespace Memo.Node.Shards;

/// <summary>
/// A command handed to a <see cref="ShardReplica"/>. <see cref="Applied"/> completes when the command is decided
/// and its writes are queued in the silo (so anything queued later becomes durable after it);
/// <see cref="Durable"/> when those writes are durable. Both carry the same result; only <see cref="Durable"/>
/// may be reported to a client as done.
/// </summary>
public readonly record struct ShardSubmission(Task<ShardResult> Applied, Task<ShardResult> Durable);
