namespace Memo.Node.Raft;

/// <summary>A replica's state at one moment, for diagnostics, tests and placement decisions (is a learner caught up?).</summary>
public sealed record RaftStatus(
    NodeId Id,
    RaftRole Role,
    Term Term,
    NodeId Vote,
    NodeId Leader,
    LogIndex FirstIndex,
    LogIndex LastIndex,
    LogIndex Commit,
    LogIndex Applied,
    RaftMembership Membership,
    NodeId LeadTransferee,
    IReadOnlyDictionary<NodeId, FollowerProgress> Progress)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Id.Value} {Role} term={Term} vote={Vote.Value} lead={Leader.Value} log=[{FirstIndex},{LastIndex}] commit={Commit} applied={Applied} {Membership}";
}

/// <summary>The leader's view of one member's replication (empty on non-leaders).</summary>
public sealed record FollowerProgress(LogIndex Match, LogIndex Next, ProgressState State, bool IsLearner, bool RecentActive);
