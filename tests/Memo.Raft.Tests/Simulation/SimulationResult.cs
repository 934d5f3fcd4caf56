namespace Memo.Raft.Tests.Simulation;

/// <summary>The outcome of one simulated run.</summary>
public sealed record SimulationResult(
    ulong Seed,
    string Description,
    string? SafetyViolation,
    string? LivenessFailure,
    string? LinearizabilityFailure,
    bool LinearizabilityTimedOut,
    int Operations,
    int SucceededOperations,
    ulong MaxTerm,
    ulong MaxCommitted,
    long Events)
{
    public bool Failed => SafetyViolation is not null || LivenessFailure is not null || LinearizabilityFailure is not null;

    public string Failure => SafetyViolation ?? LinearizabilityFailure ?? LivenessFailure ?? "none";

    public override string ToString() =>
        $"seed {Seed} ({Description}): {(Failed ? "FAILED: " + Failure : "ok")}; ops={Operations} ok={SucceededOperations} maxTerm={MaxTerm} committed={MaxCommitted} events={Events}"
        + (Failed ? $" — replay with MEMO_SIM_SEED={Seed}" : "");
}
