namespace Memo.Testing.Linearizability;

/// <summary>
/// The search's memo: configurations fully explored without finding a linearization. A configuration is the set of
/// linearized Ok operations, the set of linearized Unknown operations, the register value and the current run of Unknown
/// operations.
/// </summary>
/// <remarks>
/// Lowe's memoisation prunes an exact repeat. This store also prunes a configuration <em>dominated</em> by a failed
/// one: same Ok set and value, but a superset of used Unknown operations. That is sound because an Unknown operation
/// has no return event, so the set of operations that may come next depends only on the Ok set; a configuration that
/// has used fewer Unknown operations can do everything the other can (an unused Unknown operation may be omitted, and a
/// symmetric one used instead of a used one). Likewise for a run that <see cref="UnknownRun.Permits"/> the other.
/// Configurations are stored only once explored (on backtrack), so a pruned one is known to fail.
/// </remarks>
internal sealed class FailedConfigurations
{
    private readonly Dictionary<(Bitset Ok, int State, UnknownRun Run), List<Bitset>> _byOkSetAndState = [];

    /// <summary>How many configurations are stored.</summary>
    public int Count { get; private set; }

    /// <summary>Approximate memory held (entries are never released before the search ends).</summary>
    public long ApproximateBytes { get; private set; }

    /// <summary>Whether a stored failed configuration dominates (or equals) the given one.</summary>
    public bool Dominates(Bitset ok, Bitset unknown, int state, UnknownRun run) =>
        (run != UnknownRun.None && DominatesWith(ok, unknown, state, UnknownRun.None)) || DominatesWith(ok, unknown, state, run);

    /// <summary>Records a configuration explored without success; the bitsets are copied.</summary>
    public void Add(Bitset ok, Bitset unknown, int state, UnknownRun run)
    {
        var key = (ok, state, run);
        if (!_byOkSetAndState.TryGetValue(key, out var failed))
        {
            failed = [];
            _byOkSetAndState.Add((ok.Copy(), state, run), failed);
            ApproximateBytes += ok.ApproximateBytes + 96;
        }

        // Entries the new one dominates are now redundant.
        var removed = failed.RemoveAll(unknown.IsSubsetOf);
        Count -= removed;
        ApproximateBytes -= removed * (long)(unknown.ApproximateBytes + 8);
        failed.Add(unknown.Copy());
        Count++;
        ApproximateBytes += unknown.ApproximateBytes + 8;
    }

    private bool DominatesWith(Bitset ok, Bitset unknown, int state, UnknownRun run)
    {
        if (!_byOkSetAndState.TryGetValue((ok, state, run), out var failed))
        {
            return false;
        }

        foreach (var used in failed)
        {
            if (used.IsSubsetOf(unknown))
            {
                return true;
            }
        }

        return false;
    }
}
