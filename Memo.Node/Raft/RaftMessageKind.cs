namespace Memo.Node.Raft;

/// <summary>Message types exchanged between replicas. Serialised on the wire: values are fixed forever.</summary>
public enum RaftMessageKind
{
    /// <summary>Asks whether the sender could win an election for Term (sender's term + 1) without changing anyone's term (Raft thesis §9.6).</summary>
    PreVote = 1,

    /// <summary>Answer to <see cref="PreVote"/>; Term is the asked term when granted, the responder's term when rejected.</summary>
    PreVoteResponse = 2,

    /// <summary>RequestVote (Raft §5.2): Index/LogTerm describe the candidate's last entry.</summary>
    Vote = 3,

    /// <summary>Answer to <see cref="Vote"/>.</summary>
    VoteResponse = 4,

    /// <summary>AppendEntries (Raft §5.3): Index/LogTerm describe the entry before Entries; Commit is the leader's commit.</summary>
    Append = 5,

    /// <summary>Answer to <see cref="Append"/>: Index is the follower's last matching index, or on reject the rejected Index with RejectHint/LogTerm hints.</summary>
    AppendResponse = 6,

    /// <summary>Leader liveness and commit propagation; Context carries a ReadIndex round id.</summary>
    Heartbeat = 7,

    /// <summary>Answer to <see cref="Heartbeat"/>, echoing Context.</summary>
    HeartbeatResponse = 8,

    /// <summary>InstallSnapshot (Raft §7): carries Snapshot.</summary>
    Snapshot = 9,

    /// <summary>Leadership transfer: the receiver starts an election at once, skipping PreVote (thesis §3.10).</summary>
    TimeoutNow = 10,

    /// <summary>A follower forwards a ReadIndex request (Context identifies it) to the leader.</summary>
    ReadIndex = 11,

    /// <summary>The leader's answer to <see cref="ReadIndex"/>: Index is the read index, Context identifies the request.</summary>
    ReadIndexResponse = 12,
}
