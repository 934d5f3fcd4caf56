namespace Memo.Node.Raft;

/// <summary>
/// TEST-ONLY deliberate bugs, to prove the simulator and the linearizability checker catch them. All off by
/// default; production code never sets them (the setter is internal).
/// </summary>
[Flags]
internal enum RaftFaults
{
    /// <summary>Correct Raft.</summary>
    None = 0,

    /// <summary>The leader commits entries of earlier terms by counting replicas (the Figure 8 bug, Raft §5.4.2).</summary>
    CommitPreviousTermByCounting = 1 << 0,

    /// <summary>The vote is left out of the persisted hard state, so a restarted replica may vote twice in a term.</summary>
    ForgetVoteOnRestart = 1 << 1,

    /// <summary>The leader answers ReadIndex from its local commit index without confirming it is still leader.</summary>
    ReadWithoutQuorumCheck = 1 << 2,

    /// <summary>Voters grant votes without the up-to-date log check (Raft §5.4.1), breaking leader completeness.</summary>
    GrantVoteIgnoringLog = 1 << 3,

    /// <summary>
    /// Every message goes out before the Ready's entries and hard state are durable: votes and append
    /// acknowledgements promise state a crash can still lose.
    /// </summary>
    SendBeforePersist = 1 << 4,

    /// <summary>
    /// A follower keeps a conflicting suffix instead of truncating it (Raft §5.3 step 3): entries whose index it
    /// already holds are skipped even when their terms differ, yet it acknowledges the leader's whole append.
    /// </summary>
    KeepConflictingSuffix = 1 << 5,

    /// <summary>
    /// Leader leases are timed by counting ticks instead of by the host's clock: a leader paused past its lease
    /// loses those ticks and keeps serving reads while another leader commits writes.
    /// </summary>
    LeaseTimedByTicks = 1 << 6,

    /// <summary>
    /// The leader sends its latest snapshot even when its configuration names the receiver a voter that the group has
    /// since removed: a member removed, cleared and added again as a learner under the same id believes the old
    /// configuration, and the group's founder finds itself the only voter of the bootstrap one.
    /// </summary>
    SendStaleConfigurationSnapshots = 1 << 7,

    /// <summary>
    /// A voter's side of the lease is timed by its ticks alone, not also by its clock: safe only with a host that
    /// steps ticks in the order they passed (the planted host bug <c>InputsBeforeTicks</c> of the simulator is not).
    /// </summary>
    VoterLeaseTimedByTicksOnly = 1 << 8,
}
