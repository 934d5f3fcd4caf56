using Memo.Testing.Linearizability;

namespace Memo.Raft.Tests.Linearizability;

/// <summary>
/// A deliberately naive oracle for small histories: tries every subset of Unknown writes and every permutation of the
/// chosen operations (all keys together, no partitioning), accepting if one respects real-time order and the
/// sequential specification. Exponential; only for histories of a handful of operations.
/// </summary>
internal static class BruteForceLinearizability
{
    public const int MaxOperations = 9;

    public static bool IsLinearizable(IReadOnlyList<HistoryOperation> history)
    {
        var ok = history.Where(o => o.Outcome == HistoryOutcome.Ok).ToList();
        var unknown = history.Where(o => o is { Outcome: HistoryOutcome.Unknown, Kind: not KvOperationKind.Read }).ToList();
        if (ok.Count + unknown.Count > MaxOperations)
        {
            throw new ArgumentException($"brute force is limited to {MaxOperations} operations", nameof(history));
        }

        for (var mask = 0; mask < 1 << unknown.Count; mask++)
        {
            var chosen = new List<HistoryOperation>(ok);
            chosen.AddRange(unknown.Where((_, i) => (mask & (1 << i)) != 0));
            if (Permutations(chosen.Count).Any(order => IsValid(order.Select(i => chosen[i]).ToList())))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsValid(List<HistoryOperation> sequence)
    {
        // Real time: an operation that returned before another was invoked must come first.
        for (var i = 0; i < sequence.Count; i++)
        {
            for (var j = i + 1; j < sequence.Count; j++)
            {
                if (sequence[j].ReturnedAt is { } returned && returned < sequence[i].InvokedAt)
                {
                    return false;
                }
            }
        }

        var store = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var op in sequence)
        {
            var present = store.TryGetValue(op.Key, out var current);
            var known = op.Outcome == HistoryOutcome.Ok;
            switch (op.Kind)
            {
                case KvOperationKind.Read:
                    if (current != op.Output)
                    {
                        return false;
                    }

                    continue;
                case KvOperationKind.Upsert:
                    if (known && !op.Applied)
                    {
                        return false;
                    }

                    store[op.Key] = op.Input!;
                    continue;
            }

            var applies = op.Kind == KvOperationKind.Insert ? !present : present;
            if (known && op.Applied != applies)
            {
                return false;
            }

            if (!applies)
            {
                continue;
            }

            if (op.Kind == KvOperationKind.Delete)
            {
                store.Remove(op.Key);
            }
            else
            {
                store[op.Key] = op.Input!;
            }
        }

        return true;
    }

    private static IEnumerable<int[]> Permutations(int n)
    {
        var items = Enumerable.Range(0, n).ToArray();
        return Permute(items, 0);

        static IEnumerable<int[]> Permute(int[] items, int start)
        {
            if (start == items.Length)
            {
                yield return items;
                yield break;
            }

            for (var i = start; i < items.Length; i++)
            {
                (items[start], items[i]) = (items[i], items[start]);
                foreach (var permutation in Permute(items, start + 1))
                {
                    yield return permutation;
                }

                (items[start], items[i]) = (items[i], items[start]);
            }
        }
    }
}
