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
    // Sorts after every key that starts with a prefix, except keys continuing with U+10FFFF, which the walk skips
    // row by row (they roll up into the prefix already returned).
    private const string PastPrefixSuffix = "\U0010FFFF";

    /// <summary>The exclusive lower bound a silo scan resumes from.</summary>
    public string Bound => PastPrefix ? Key + PastPrefixSuffix : Key;

    /// <summary>Orders positions by <see cref="EntryKeyOrder"/> of their bounds.</summary>
    public static int Compare(ScanPosition a, ScanPosition b) => EntryKeyOrder.Compare(a.Bound, b.Bound);

    /// <summary>The later of two positions.</summary>
    public static ScanPosition Max(ScanPosition a, ScanPosition b) => Compare(a, b) >= 0 ? a : b;

    /// <summary>Whether <paramref name="key"/> is at or behind this position (a scan resuming here does not return it).</summary>
    public bool Covers(string key) => EntryKeyOrder.Compare(key, Bound) <= 0;
}
