namespace Memo.Node.Raft;

/// <summary>
/// A replica's role in its group.
/// <code>
///               timeout (PreVote on)         pre-votes won
///   Follower ─────────────────────► PreCandidate ─────────► Candidate ──votes won──► Leader
///      ▲  ▲ timeout (PreVote off)                              │  ▲ timeout            │
///      │  └──────────────────────────────────────────────────►─┘  └──(new term)       │
///      └──────────── higher term / leader of same term / lost quorum (CheckQuorum) ───┘
/// </code>
/// </summary>
public enum RaftRole
{
    /// <summary>Follows a leader (or waits for one).</summary>
    Follower = 0,

    /// <summary>Probing whether an election could succeed, without raising its term.</summary>
    PreCandidate = 1,

    /// <summary>Campaigning in a new term.</summary>
    Candidate = 2,

    /// <summary>Leads the group for its term.</summary>
    Leader = 3,
}
