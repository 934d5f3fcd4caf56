namespace Memo.Node.Raft;

/// <summary>How the core handled a proposal, membership change, read or transfer request.</summary>
public enum ProposeOutcome
{
    /// <summary>Appended to the leader's log (for reads: the request is under way).</summary>
    Accepted = 0,

    /// <summary>This replica is not the leader; <see cref="ProposeResult.LeaderHint"/> names the leader if known. Nothing was appended.</summary>
    NotLeader = 1,

    /// <summary>Refused for now (leadership transfer in progress, a membership change pending, a limit reached). Nothing was appended.</summary>
    Dropped = 2,

    /// <summary>The request is invalid (e.g. an impossible membership change). Nothing was appended.</summary>
    Invalid = 3,
}

/// <summary>The result of a request to the core. Only <see cref="ProposeOutcome.Accepted"/> may take effect.</summary>
public readonly record struct ProposeResult(ProposeOutcome Outcome, LogIndex Index, Term Term, NodeId LeaderHint, string? Reason)
{
    /// <summary>True when accepted.</summary>
    public bool IsAccepted => Outcome == ProposeOutcome.Accepted;

    internal static ProposeResult Accepted(LogIndex index, Term term) => new(ProposeOutcome.Accepted, index, term, NodeId.None, null);

    internal static ProposeResult NotLeader(NodeId leader) => new(ProposeOutcome.NotLeader, LogIndex.Zero, Term.Zero, leader, "not the leader");

    internal static ProposeResult Dropped(string reason) => new(ProposeOutcome.Dropped, LogIndex.Zero, Term.Zero, NodeId.None, reason);

    internal static ProposeResult Invalid(string reason) => new(ProposeOutcome.Invalid, LogIndex.Zero, Term.Zero, NodeId.None, reason);

    /// <inheritdoc />
    public override string ToString() => Outcome == ProposeOutcome.Accepted ? $"Accepted {Term}/{Index}" : $"{Outcome} ({Reason})";
}
