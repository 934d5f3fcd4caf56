using Memo.Node.Raft;
using Memo.Testing.Linearizability;

namespace Memo.Raft.Tests.Simulation;

/// <summary>The shape of one simulated run; the seed picks the details (timings, faults) within it.</summary>
public sealed record SimulationOptions
{
    /// <summary>Voters of the initial configuration (0: 3 or 5, chosen by the seed).</summary>
    public int Voters { get; init; }

    /// <summary>Run the membership plan: add learners 4 and 5, catch them up, promote them, remove voters 1 and 2.</summary>
    public bool Reconfigure { get; init; }

    /// <summary>Which faults the safety phase injects (Mixed: chosen by the seed).</summary>
    public FaultProfile Profile { get; init; } = FaultProfile.BySeed;

    /// <summary>Simulated milliseconds of the safety phase (faults on).</summary>
    public long SafetyPhaseMs { get; init; } = 3_000;

    /// <summary>Simulated milliseconds of the liveness phase (faults healed).</summary>
    public long LivenessPhaseMs { get; init; } = 3_000;

    /// <summary>
    /// After the liveness phase, clients stop and the group runs this long without faults; then every replica must
    /// have applied the same index and hold the same state.
    /// </summary>
    public long QuiescePhaseMs { get; init; } = 1_000;

    /// <summary>After healing, time allowed to elect a leader and catch up before every operation must succeed.</summary>
    public long LivenessGraceMs { get; init; } = 1_000;

    /// <summary>An operation not answered within this time is abandoned (its outcome stays unknown).</summary>
    public long OperationTimeoutMs { get; init; } = 600;

    public int Clients { get; init; } = 3;

    public int Keys { get; init; } = 3;

    /// <summary>Applied entries between local snapshots (log compaction).</summary>
    public int SnapshotEvery { get; init; } = 20;

    /// <summary>
    /// Entries per Append message (small values split catch-up into many round trips, which opens the window
    /// between an earlier term's entries and the leader's own reaching a follower). 0: 1 or 16, chosen by the seed.
    /// </summary>
    public int MaxEntriesPerAppend { get; init; }

    /// <summary>CheckQuorum on the replicas (off keeps a partitioned leader in office until it hears a higher term; some seeds turn it off anyway).</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>PreVote on the replicas (off lets candidates of the same term compete for votes; some seeds turn it off anyway).</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>TEST-ONLY planted bugs for the core.</summary>
    internal RaftFaults Faults { get; init; }

    /// <summary>Leader leases for reads: null lets the seed decide (some seeds, never with a planted bug); needs CheckQuorum.</summary>
    public bool? LeaseReads { get; init; }

    /// <summary>TEST-ONLY host bugs, to prove the host-side apply checks catch what they claim to.</summary>
    internal HostFaults HostFaults { get; init; }

    /// <summary>Time the linearizability checker may spend on the history; running out fails the run.</summary>
    public TimeSpan LinearizabilityBudget { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The history checker (the real one unless a test proves what the simulator does with its verdicts).</summary>
    internal Func<IReadOnlyList<HistoryOperation>, TimeSpan, LinearizabilityResult> HistoryChecker { get; init; } =
        (history, budget) => LinearizabilityChecker.Check(history, budget);

    /// <summary>Print a trace of the run (for replaying one seed).</summary>
    public bool Trace { get; init; }
}

/// <summary>The fault schedule of the safety phase.</summary>
public enum FaultProfile
{
    /// <summary>Chosen by the seed among the others.</summary>
    BySeed,
    Partitions,
    Crashes,
    LossAndReordering,
    Everything,
    /// <summary>
    /// Frequent crashes with quick restarts and long message delays, and voters that die right after granting a vote
    /// (vote-persistence bugs).
    /// </summary>
    CrashStorm,

    /// <summary>Replicas stop for up to several election timeouts (GC or SIGSTOP) and resume with queued input.</summary>
    Pauses,

    /// <summary>
    /// Crashes at the persistence boundaries of a Ready: before its write, after a torn write (snapshot and a prefix
    /// of the entries, no hard state), and after the whole write but before any message or apply.
    /// </summary>
    CrashMidPersist,

    /// <summary>
    /// Leaders die young: the current leader is crashed every few tens of milliseconds over a lossy, slow network,
    /// so logs diverge in uncommitted tails of several terms (the Figure 8 situations, Raft §5.4.2).
    /// </summary>
    LeaderChurn,

    /// <summary>
    /// The leader is paused (a long GC or SIGSTOP) and cut off at once, and stays cut off for a while after it
    /// resumes: the situation a leader lease must survive. Chosen explicitly, never drawn.
    /// </summary>
    PausedIsolatedLeader,

    /// <summary>
    /// A follower stalls while the leader's heartbeats and its own ticks queue up, the leader's messages stop reaching
    /// it when it resumes, and the other followers, cut off from the leader, campaign: the leader's lease rests on the
    /// stalled follower's election timer counted from the heartbeats it found. Chosen explicitly, never drawn.
    /// </summary>
    PausedFollower,
}

/// <summary>Where an armed replica crashes while handling a Ready that must be persisted.</summary>
public enum PersistCrashPoint
{
    /// <summary>After the early (leader) messages went out, before anything is written.</summary>
    BeforeWrite,

    /// <summary>
    /// Mid-write, in contract order: the snapshot and a prefix of the entries are durable, the hard state is not.
    /// The silo commits a Ready as one batch, so this models a store that is not atomic (a WAL with a torn tail).
    /// </summary>
    TornWrite,

    /// <summary>After the whole Ready is durable, before any after-persistence message, apply or Advance.</summary>
    AfterWrite,
}

/// <summary>TEST-ONLY deliberate bugs in the simulated host (not the core), planted on replica 2.</summary>
[Flags]
internal enum HostFaults
{
    None = 0,

    /// <summary>Applies one write (the first at index 5 or later) twice.</summary>
    ReapplyAnEntry = 1 << 0,

    /// <summary>Applies one write (the first at index 3 or later) with a different value than the entry holds.</summary>
    MisapplyAWrite = 1 << 1,

    /// <summary>Gains a key no entry wrote, after its last apply (only the end-of-run comparison can see it).</summary>
    CorruptStateAtEnd = 1 << 2,

    /// <summary>
    /// On every replica (not only replica 2): the turn that resumes a paused replica steps its queued input before the
    /// ticks its timer queued meanwhile, so ticks that passed before a leader's heartbeat are counted after it (the
    /// replica loop's order before 311b774).
    /// </summary>
    InputsBeforeTicks = 1 << 3,
}
