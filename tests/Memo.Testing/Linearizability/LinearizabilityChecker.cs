using System.Diagnostics;

namespace Memo.Testing.Linearizability;

/// <summary>
/// Decides whether a key-value client history is linearizable (Herlihy &amp; Wing 1990).
/// </summary>
/// <remarks>
/// Design note.
/// <list type="bullet">
/// <item>Linearizability is compositional (P-compositionality, Horn &amp; Kroening 2015): a history over independent
/// registers is linearizable iff each key's sub-history is. The history is split by key and each part is searched on its
/// own, smallest first, so a violation on a small key is found even when a big key is expensive.</item>
/// <item>Per key, the search is Wing &amp; Gong's (1993) with Lowe's (2017) memoisation, as popularised by Porcupine: a
/// doubly linked list of call/return events in time order; linearizing an operation "lifts" its call and return out of
/// the list, backtracking "unlifts" them; a memo of configurations (linearized-operations bitset, register value) already
/// explored without success prunes repeats. Reaching the return event of an operation not yet linearized means the
/// current prefix cannot be extended, so the search backtracks. Further verdict-preserving reductions (value
/// abstraction, symmetry among Unknown operations, dominance pruning) are described on <c>KeyHistorySearch</c>.</item>
/// <item>An Unknown operation has no return event (it returns at +infinity), so it never forces backtracking; it may be
/// linearized at any point after its call, and the search succeeds once every Ok operation is linearized, which lets
/// an Unknown operation be omitted. Its result is unconstrained: an Unknown Insert takes effect only if the key is
/// absent at its linearization point. Unknown reads constrain nothing and are dropped, as are Failed operations.</item>
/// <item>Events with equal timestamps are treated as concurrent (calls sort before returns), which never rejects a
/// history that some tie-breaking would accept.</item>
/// <item>The budget is shared by all keys. When it runs out the verdict is TimedOut and never "linearizable"; a
/// violation already found on some key is still reported as a violation.</item>
/// </list>
/// </remarks>
public static class LinearizabilityChecker
{
    /// <summary>The budget used when none is given.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A limit on the approximate memory of the search's memo for one key, so a pathological history ends as TimedOut
    /// rather than exhausting memory before the time budget does.
    /// </summary>
    public const long MaxMemoBytesPerKey = 256L << 20;

    /// <summary>Checks a history; see the type's remarks for the model and the algorithm.</summary>
    /// <param name="history">Operations in any order, e.g. <see cref="HistoryRecorder.Operations"/>.</param>
    /// <param name="budget">Total time allowed (default <see cref="DefaultBudget"/>).</param>
    /// <exception cref="ArgumentException">The history is malformed: duplicate ids, an Ok operation without a return
    /// time or returning before it was invoked.</exception>
    public static LinearizabilityResult Check(IReadOnlyList<HistoryOperation> history, TimeSpan? budget = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        var allowed = budget ?? DefaultBudget;
        if (allowed < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(budget), budget, "budget must not be negative");
        }

        Validate(history);
        var stopwatch = Stopwatch.StartNew();
        var partitions = Partition(history);
        string? timedOutKey = null;
        var timedOutExplanation = "";
        foreach (var (key, operations) in partitions)
        {
            var search = new KeyHistorySearch(key, operations, stopwatch, allowed);
            var outcome = search.Run();
            switch (outcome)
            {
                case KeyHistorySearch.Verdict.Linearizable:
                    break;
                case KeyHistorySearch.Verdict.Violation:
                    return new LinearizabilityResult(false, false, key, search.Explain());
                default:
                    if (timedOutKey is null)
                    {
                        timedOutKey = key;
                        timedOutExplanation = search.Explain();
                    }

                    break;
            }
        }

        if (timedOutKey is not null)
        {
            return new LinearizabilityResult(false, true, timedOutKey, timedOutExplanation);
        }

        return new LinearizabilityResult(
            true,
            false,
            null,
            $"linearizable: {history.Count} operations on {partitions.Count} keys checked in {stopwatch.Elapsed.TotalMilliseconds:F0} ms");
    }

    private static void Validate(IReadOnlyList<HistoryOperation> history)
    {
        var ids = new HashSet<int>();
        foreach (var op in history)
        {
            if (op is null)
            {
                throw new ArgumentException("history contains a null operation", nameof(history));
            }

            if (!ids.Add(op.Id))
            {
                throw new ArgumentException($"duplicate operation id {op.Id}", nameof(history));
            }

            if (op.Key is null)
            {
                throw new ArgumentException($"operation {op.Id} has no key", nameof(history));
            }

            if (!Enum.IsDefined(op.Kind) || !Enum.IsDefined(op.Outcome))
            {
                throw new ArgumentException($"operation {op.Id} has an undefined kind or outcome", nameof(history));
            }

            if (op.Outcome == HistoryOutcome.Ok)
            {
                if (op.ReturnedAt is not { } returned)
                {
                    throw new ArgumentException($"Ok operation {op.Id} has no return time", nameof(history));
                }

                if (returned < op.InvokedAt)
                {
                    throw new ArgumentException(
                        $"operation {op.Id} returned at {returned}, before its invocation at {op.InvokedAt}", nameof(history));
                }
            }
        }
    }

    /// <summary>Groups the operations that constrain the search by key, smallest group first.</summary>
    private static List<(string Key, List<HistoryOperation> Operations)> Partition(IReadOnlyList<HistoryOperation> history)
    {
        var byKey = new Dictionary<string, List<HistoryOperation>>(StringComparer.Ordinal);
        foreach (var op in history)
        {
            var relevant = op.Outcome switch
            {
                HistoryOutcome.Ok => true,
                HistoryOutcome.Unknown => op.Kind != KvOperationKind.Read,
                _ => false,
            };
            if (!relevant)
            {
                continue;
            }

            if (!byKey.TryGetValue(op.Key, out var list))
            {
                list = [];
                byKey.Add(op.Key, list);
            }

            list.Add(op);
        }

        return byKey
            .Select(pair => (pair.Key, pair.Value))
            .OrderBy(p => p.Value.Count)
            .ThenBy(p => p.Key, StringComparer.Ordinal)
            .ToList();
    }
}
