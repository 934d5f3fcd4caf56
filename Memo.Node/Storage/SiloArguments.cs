namespace Memo.Node.Storage;

/// <summary>
/// The argument rules every silo enforces the same way, before anything is queued or applied, so that the
/// implementations agree on what is rejected (a caller bug, hence an exception) and a batch never fails
/// half-applied because of a malformed operation.
/// </summary>
internal static class SiloArguments
{
    /// <summary>
    /// The largest log index or term a silo stores: SQLite keeps them as signed 64-bit integers, and Raft never
    /// gets near 2^63.
    /// </summary>
    public const ulong MaxLogValue = long.MaxValue;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first malformed operation of the batch.</summary>
    public static void ValidateBatch(SiloBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var operations = batch.Operations;
        for (var i = 0; i < operations.Count; i++)
        {
            var problem = Problem(operations[i]);
            if (problem is not null)
            {
                throw new ArgumentException($"Batch operation #{i} ({operations[i]?.GetType().Name ?? "null"}): {problem}", nameof(batch));
            }
        }
    }

    /// <summary>Checks a key or metadata name used for a read or a scan bound.</summary>
    public static void ValidateKey(string? key, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(key, parameterName);
        if (!EntryKeyOrder.IsWellFormed(key))
        {
            throw new ArgumentException("The key contains a lone surrogate, which UTF-8 cannot store.", parameterName);
        }
    }

    /// <summary>Checks the arguments of a scan.</summary>
    public static void ValidateScan(string prefix, string? after, int limit)
    {
        ValidateKey(prefix, nameof(prefix));
        if (after is not null)
        {
            ValidateKey(after, nameof(after));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
    }

    /// <summary>Checks the arguments of a shard scan: a position names exactly one of a block and a key.</summary>
    public static void ValidateShardScan(SiloShardPosition? after, int limit)
    {
        if (after is { } position)
        {
            if ((position.Block is null) == (position.Key is null))
            {
                throw new ArgumentException("A shard scan position names exactly one of a block and a key.", nameof(after));
            }
            if (position.Key is not null)
            {
                ValidateKey(position.Key, nameof(after));
            }
        }
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
    }

    /// <summary>
    /// The lower bound of a scan: keys strictly after <paramref name="after"/> when it is at or past the
    /// prefix, else keys from the prefix itself (inclusive).
    /// </summary>
    public static (string Key, bool Exclusive) ScanStart(string prefix, string? after) =>
        after is not null && EntryKeyOrder.Compare(after, prefix) >= 0 ? (after, true) : (prefix, false);

    /// <summary>
    /// The lower bound of a scan past every key starting with <paramref name="skipped"/>: from the first string above
    /// them all (inclusive), or from the prefix when that is later; null when no string sorts above them.
    /// </summary>
    public static (string Key, bool Exclusive)? ScanStartPast(string prefix, string skipped)
    {
        if (EntryKeyOrder.PrefixUpperBound(skipped) is not { } above)
        {
            return null;
        }
        return EntryKeyOrder.Compare(above, prefix) >= 0 ? (above, false) : (prefix, false);
    }

    /// <summary>A log index or term clamped into the stored range, for bounds that may be "infinite".</summary>
    public static long Clamp(ulong value) => value > MaxLogValue ? long.MaxValue : (long)value;

    private static string? Problem(SiloOperation? operation) => operation switch
    {
        null => "the operation is null",
        SiloOperation.PutBlock p => p.Data is null ? "data is null" : null,
        SiloOperation.DeleteBlock => null,
        SiloOperation.PutBlockCopy p => p.Data is null ? "data is null" : null,
        SiloOperation.DeleteBlockCopy => null,
        SiloOperation.PutBlockFragment p => p.Data is null ? "data is null" : p.Index is < 0 or > 255 ? $"fragment index {p.Index} is outside 0..255" : null,
        SiloOperation.DeleteBlockFragment => null,
        SiloOperation.ForgetRemovedBlocks => null,
        SiloOperation.PutEntry p => KeyProblem(p.Key) ?? (p.Value is null ? "value is null" : null),
        SiloOperation.DeleteEntry p => KeyProblem(p.Key),
        SiloOperation.PutMeta p => KeyProblem(p.Name) ?? (p.Value is null ? "value is null" : null),
        SiloOperation.PutRaftState p => p.State is null ? "state is null" : null,
        SiloOperation.AppendLog p when p.Index == LogIndex.Zero => "log index 0 is not an entry (indexes start at 1)",
        SiloOperation.AppendLog p when p.Index.Value > MaxLogValue => $"log index {p.Index} is above 2^63-1",
        SiloOperation.AppendLog p when p.Term.Value > MaxLogValue => $"term {p.Term} is above 2^63-1",
        SiloOperation.AppendLog p => p.Data is null ? "data is null" : null,
        SiloOperation.TruncateLogAfter or SiloOperation.CompactLogThrough or SiloOperation.ClearShard => null,
        _ => $"unknown operation {operation.GetType().Name}",
    };

    private static string? KeyProblem(string? key) =>
        key is null ? "the key is null"
        : !EntryKeyOrder.IsWellFormed(key) ? "the key contains a lone surrogate, which UTF-8 cannot store"
        : null;
}
