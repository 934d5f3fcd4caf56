using Memo.Node.Raft;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// A replica's state as of its last turn, published for other threads (router, diagnostics, tests) as an
/// immutable value. <see cref="StopReason"/> is set once the replica has stopped.
/// </summary>
public sealed record ShardGroupStatus(
    ShardId Shard,
    NodeId Node,
    RaftRole Role,
    Term Term,
    NodeId Leader,
    LogIndex Commit,
    LogIndex Applied,
    LogIndex FirstIndex,
    LogIndex LastIndex,
    LogIndex SnapshotIndex,
    RaftMembership Membership,
    string? StopReason)
{
    /// <summary>True when this replica was the leader at its last turn.</summary>
    public bool IsLeader => Role == RaftRole.Leader && StopReason is null;

    /// <inheritdoc />
    public override string ToString() =>
        $"shard {Shard} node {Node.Value}: {Role} term={Term} lead={Leader.Value} commit={Commit} applied={Applied} log=[{FirstIndex},{LastIndex}] snap={SnapshotIndex} {Membership}"
        + (StopReason is null ? "" : $" STOPPED: {StopReason}");
}
