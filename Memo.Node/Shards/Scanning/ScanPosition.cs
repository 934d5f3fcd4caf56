using Memo.Node.Storage;

namespace Memo.Node.Shards.Scanning;

/// <summary>
/// Where a listing scan resumes: strictly after the key <see cref="Key"/>, or, with <see cref="PastPrefix"/>, after
/// every key that starts with <see cref="Key"/> (a common prefix already rolled up and returned).
/// </summary>
/// <param name="Key">A key, or a rolled-up common prefix when <paramref name="PastPrefix"/>.</param>
/// <param name="PastPrefix">Whether every key starting with <paramref name="Key"/> is behind this position.</param>
public readonly record struct ScanPosition(string Key, bool PastPrefix)
{
    /// <summary>
    /// Orders positions: by <see cref="EntryKeyOrder"/> of their keys, except that a position past a prefix comes after
    /// every position whose key starts with that prefix (no finite key bound can say "after every key under it": a key
    /// may continue with U+10FFFF, the largest code point).
    /// </summary>
    public static int Compare(ScanPosition a, ScanPosition b)
    {
        if (a.PastPrefix && b.Key.StartsWith(a.Key, StringComparison.Ordinal))
        {
            return b.PastPrefix && b.Key.Length == a.Key.Length ? 0 : 1;
        }
        if (b.PastPrefix && a.Key.StartsWith(b.Key, StringComparison.Ordinal))
        {
            return -1;
        }
        return EntryKeyOrder.Compare(a.Key, b.Key);
    }

    /// <summary>The later of two positions.</summary>
    public static ScanPosition Max(ScanPosition a, ScanPosition b) => Compare(a, b) >= 0 ? a : b;

    /// <summary>Whether <paramref name="key"/> is at or behind this position (a scan resuming here does not return it).</summary>
    public bool Covers(string key) =>
        (PastPrefix && key.StartsWith(Key, StringComparison.Ordinal)) || EntryKeyOrder.Compare(key, Key) <= 0;

    /// <summary>The next entries of <paramref name="prefix"/> after this position, read from <paramref name="silo"/>.</summary>
    public ValueTask<IReadOnlyList<SiloEntry>> ScanAfterAsync(ISilo silo, string prefix, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(silo);
        return PastPrefix
            ? silo.ScanEntriesPastAsync(prefix, Key, limit, cancellationToken)
            : silo.ScanEntriesAsync(prefix, Key, limit, cancellationToken);
    }
}
