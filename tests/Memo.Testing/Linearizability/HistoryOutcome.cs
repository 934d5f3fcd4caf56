namespace Memo.Testing.Linearizability;

/// <summary>How a recorded operation ended, as far as the client knows.</summary>
public enum HistoryOutcome
{
    /// <summary>Completed with a known result; the result must match the model at the linearization point.</summary>
    Ok,

    /// <summary>Definitely did not take effect (e.g. rejected before it was proposed); the checker drops it.</summary>
    Failed,

    /// <summary>
    /// Never completed (timeout, crash, lost reply): it may have taken effect at any time after its invocation, or never.
    /// </summary>
    Unknown,
}
