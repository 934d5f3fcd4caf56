namespace Memo.Raft.Tests.Simulation;

/// <summary>The outcome of one simulated run.</summary>
/// <param name="SafetyViolation">A Raft safety property, a core invariant, or a host-side check (apply order,
/// replicas' state at the same applied index) that broke; null if none.</param>
/// <param name="LivenessFailure">Progress that did not happen after healing (reported only when the run was safe).</param>
/// <param name="LinearizabilityFailure">The history is not linearizable, or the checker ran out of budget (a history
/// that cannot be checked proves nothing, so it fails the run too).</param>
public sealed record SimulationResult(
    ulong Seed,
    string Description,
    FaultProfile Profile,
    string? SafetyViolation,
    string? LivenessFailure,
    string? LinearizabilityFailure,
    bool LinearizabilityTimedOut,
    int Operations,
    int SucceededOperations,
    ulong MaxTerm,
    ulong MaxCommitted,
    long Events,
    FaultCounts Faults)
{
    public bool Failed => SafetyViolation is not null || LivenessFailure is not null || LinearizabilityFailure is not null;

    public string Failure => SafetyViolation ?? LinearizabilityFailure ?? LivenessFailure ?? "none";

    public override string ToString() =>
        $"seed {Seed} ({Description}): {(Failed ? "FAILED: " + Failure : "ok")}; ops={Operations} ok={SucceededOperations} maxTerm={MaxTerm} committed={MaxCommitted} events={Events} faults: {Faults}"
        + (Failed ? $" — replay with MEMO_SIM_SEED={Seed}" : "");
}

/// <summary>
/// How many faults of each kind a run (or a batch of runs) applied, so a test can assert that a fault it claims to
/// inject actually happened.
/// </summary>
/// <param name="Crashes">Every crash, including those at a persistence boundary.</param>
/// <param name="CrashesBeforeWrite">Crashes after a Ready's early messages, before its write.</param>
/// <param name="TornWrites">Crashes mid-write: snapshot and a prefix of the entries durable, hard state not.</param>
/// <param name="CrashesAfterWrite">Crashes after a Ready's write, before its messages and apply.</param>
/// <param name="Pauses">Process pauses.</param>
/// <param name="Partitions">Partitions and leader isolations.</param>
/// <param name="SkewedNodes">Replicas whose clock ticks at another period than 10 ms.</param>
public sealed record FaultCounts(
    int Crashes,
    int CrashesBeforeWrite,
    int TornWrites,
    int CrashesAfterWrite,
    int Pauses,
    int Partitions,
    int SkewedNodes)
{
    public static FaultCounts None { get; } = new(0, 0, 0, 0, 0, 0, 0);

    public FaultCounts Plus(FaultCounts other) => new(
        Crashes + other.Crashes,
        CrashesBeforeWrite + other.CrashesBeforeWrite,
        TornWrites + other.TornWrites,
        CrashesAfterWrite + other.CrashesAfterWrite,
        Pauses + other.Pauses,
        Partitions + other.Partitions,
        SkewedNodes + other.SkewedNodes);

    public override string ToString() =>
        $"crashes={Crashes} (before write {CrashesBeforeWrite}, torn write {TornWrites}, after write {CrashesAfterWrite}) pauses={Pauses} partitions={Partitions} skewed nodes={SkewedNodes}";
}
