namespace Memo.Node.Shards.Replicated;

/// <summary>The two answers of an async write's proposal (<see cref="ShardGroupReplica.ProposeAcknowledgedAtAppend"/>).</summary>
/// <param name="Appended">Completes with <see cref="ShardGroupOutcome.Appended"/> once the leader's log holds the command
/// durably, or with the final outcome when that comes first.</param>
/// <param name="Outcome">The final outcome, as <see cref="ShardGroupReplica.ProposeAsync"/> gives it.</param>
public readonly record struct AppendedProposal(Task<ShardGroupOutcome> Appended, Task<ShardGroupOutcome> Outcome);
