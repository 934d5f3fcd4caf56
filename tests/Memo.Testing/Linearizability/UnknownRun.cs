namespace Memo.Testing.Linearizability;

/// <summary>
/// The run of Unknown operations linearized since the last Ok operation: how many (0 to 2) and the register value
/// before the first. Part of a search configuration because it limits which Unknown operation may come next.
/// </summary>
internal readonly record struct UnknownRun(int Length, int StartState)
{
    /// <summary>No Unknown operation since the last Ok one.</summary>
    public static UnknownRun None => default;

    /// <summary>The run after one more Unknown operation, linearized when the register held <paramref name="state"/>.
    /// Beyond one operation the start value no longer matters and is dropped, so equal configurations compare equal.</summary>
    public UnknownRun Extended(int state) => Length == 0 ? new UnknownRun(1, state) : new UnknownRun(Length + 1, 0);

    /// <summary>
    /// Whether a configuration with this run can do whatever one with <paramref name="other"/> can: no run allows
    /// everything; a run of one allows what a run of two does.
    /// </summary>
    public bool Permits(UnknownRun other) => Length == 0 || this == other || (Length == 1 && other.Length == 2);
}
