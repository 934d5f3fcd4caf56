namespace Memo.Node.Shards;

/// <summary>Limits of a shard replica's mailbox and turns.</summary>
public sealed record ShardReplicaOptions(int MailboxCapacity, int MaxCommandsPerTurn);
