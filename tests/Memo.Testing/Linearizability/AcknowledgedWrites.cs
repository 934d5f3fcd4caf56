namespace Memo.Testing.Linearizability;

/// <summary>
/// The "no acknowledged write lost" check of a history that ends with final reads of every key (after healing, with
/// the clients stopped), shared by the in-process and the process nemesis tests.
/// </summary>
public static class AcknowledgedWrites
{
    /// <summary>
    /// Acknowledged writes that vanished: a key's final value must come from a write (of any outcome) that no
    /// acknowledged write of the key was invoked after it returned, and the final reads of a key must agree. Returns
    /// one line per key that breaks this.
    /// </summary>
    /// <param name="operations">The whole history.</param>
    /// <param name="keys">The keys to check (every key the clients used).</param>
    /// <param name="isFinalRead">Tells the final reads apart from the clients' operations.</param>
    public static List<string> Lost(IReadOnlyList<HistoryOperation> operations, IEnumerable<string> keys, Func<HistoryOperation, bool> isFinalRead)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(isFinalRead);
        var byKey = operations.ToLookup(o => o.Key, StringComparer.Ordinal);
        var lost = new List<string>();
        foreach (var key in keys)
        {
            var ofKey = byKey[key].ToList();
            var finals = ofKey.Where(o => isFinalRead(o) && o.Outcome == HistoryOutcome.Ok).Select(o => o.Output).Distinct().ToList();
            if (finals.Count != 1)
            {
                lost.Add($"{key}: the nodes' final reads disagree or failed ({string.Join(", ", finals.Select(f => f ?? "<absent>"))})");
                continue;
            }
            var final = finals[0];
            var writes = ofKey.Where(o => o.Kind != KvOperationKind.Read && o.Outcome != HistoryOutcome.Failed && !(o.Outcome == HistoryOutcome.Ok && !o.Applied)).ToList();
            var acknowledged = writes.Where(o => o.Outcome == HistoryOutcome.Ok).ToList();
            // A key never written successfully may still be absent at the end.
            var possible = final is null && acknowledged.Count == 0
                || writes.Where(w => (w.Kind == KvOperationKind.Delete ? null : w.Input) == final)
                    .Any(w => w.Outcome != HistoryOutcome.Ok || !acknowledged.Any(a => a.InvokedAt > w.ReturnedAt));
            if (!possible)
            {
                lost.Add($"{key}: final value {final ?? "<absent>"} is not the effect of any write still current; acknowledged writes were lost");
            }
        }
        return lost;
    }
}
