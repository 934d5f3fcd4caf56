namespace Memo.Node.Raft;

/// <summary>
/// The state a replica must persist before it sends any message that depends on it (Raft Figure 2 "persistent
/// state"): the current term, the vote cast in that term, and the commit index (kept so a restart does not
/// re-deliver committed entries as uncommitted; commit may safely be lost, term and vote may not).
/// </summary>
public readonly record struct HardState(Term Term, NodeId Vote, LogIndex Commit)
{
    /// <summary>The state of a replica that has never run.</summary>
    public static HardState Empty => default;

    /// <inheritdoc />
    public override string ToString() => $"term={Term} vote={Vote.Value} commit={Commit}";
}
