namespace Memo.Testing.Linearizability;

/// <summary>
/// The checker's verdict.
/// </summary>
/// <param name="IsLinearizable">True only when every key's sub-history was proven linearizable.</param>
/// <param name="TimedOut">True when the budget ran out before a verdict; <paramref name="IsLinearizable"/> is then false
/// but the history was not proven wrong either.</param>
/// <param name="Key">The key whose sub-history is not linearizable (or timed out); null when linearizable.</param>
/// <param name="Explanation">A human-readable account: for a violation, the longest linearizable prefix found and the
/// operation that could not be placed after it.</param>
public sealed record LinearizabilityResult(bool IsLinearizable, bool TimedOut, string? Key, string Explanation);
