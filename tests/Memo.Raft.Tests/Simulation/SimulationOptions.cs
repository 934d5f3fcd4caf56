using Memo.Node.Raft;

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

    /// <summary>After healing, time allowed to elect a leader and catch up before every operation must succeed.</summary>
    public long LivenessGraceMs { get; init; } = 1_000;

    /// <summary>An operation not answered within this time is abandoned (its outcome stays unknown).</summary>
    public long OperationTimeoutMs { get; init; } = 600;

    public int Clients { get; init; } = 3;

    public int Keys { get; init; } = 3;

    /// <summary>Applied entries between local snapshots (log compaction).</summary>
    public int SnapshotEvery { get; init; } = 20;

    /// <summary>Entries per Append message (small values split catch-up into many round trips).</summary>
    public int MaxEntriesPerAppend { get; init; } = 16;

    /// <summary>CheckQuorum on the replicas (off keeps a partitioned leader in office until it hears a higher term).</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>TEST-ONLY planted bugs for the core.</summary>
    internal RaftFaults Faults { get; init; }

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
    /// <summary>Frequent crashes with quick restarts and long message delays (vote-persistence bugs).</summary>
    CrashStorm,
}
