using System.Text;

namespace Memo.Node.Storage;

/// <summary>
/// The order of key-value entry keys in every silo: ordinal over the UTF-8 bytes, which is Unicode code point
/// order. It differs from <see cref="StringComparer.Ordinal"/> (UTF-16 code units) for characters above U+FFFF:
/// UTF-16 stores them as surrogates (0xD800–0xDFFF), which sort below U+E000–U+FFFF, whereas their UTF-8 bytes
/// sort above. Code that merges or pages scans (for example across shards) must use this order too.
/// </summary>
public static class EntryKeyOrder
{
    /// <summary>This order as a comparer, for sorted collections and merges.</summary>
    public static IComparer<string> Comparer { get; } = new KeyComparer();

    /// <summary>Compares two keys by code point (UTF-8 byte) order; null sorts first.</summary>
    public static int Compare(string? a, string? b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }
        if (a is null)
        {
            return -1;
        }
        if (b is null)
        {
            return 1;
        }
        var common = a.AsSpan().CommonPrefixLength(b);
        if (common == a.Length || common == b.Length)
        {
            return a.Length.CompareTo(b.Length);
        }
        // The first differing code unit decides, once surrogates are moved above U+E000–U+FFFF. In a
        // well-formed string a difference at a low surrogate implies equal high surrogates before it, so
        // comparing code units there is comparing code points.
        return CodePointRank(a[common]).CompareTo(CodePointRank(b[common]));
    }

    /// <summary>
    /// The smallest key that sorts after every key starting with <paramref name="prefix"/>, or null when no
    /// such key exists (the empty prefix, or a prefix of only U+10FFFF). Keys starting with the prefix are
    /// exactly those in [prefix, bound).
    /// </summary>
    /// <exception cref="ArgumentException">The prefix is not well-formed UTF-16 (a lone surrogate).</exception>
    public static string? PrefixUpperBound(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!IsWellFormed(prefix))
        {
            throw new ArgumentException("The prefix contains a lone surrogate.", nameof(prefix));
        }
        var end = prefix.Length;
        while (end > 0)
        {
            var start = end >= 2 && char.IsLowSurrogate(prefix[end - 1]) ? end - 2 : end - 1;
            var last = Rune.GetRuneAt(prefix, start).Value;
            if (last < 0x10FFFF)
            {
                // Bump the last code point (skipping the surrogate range, which has no code points) and cut
                // the rest: every key with the prefix is below it, every other key at or above the prefix is not.
                var next = last + 1 == 0xD800 ? 0xE000 : last + 1;
                return string.Concat(prefix.AsSpan(0, start), new Rune(next).ToString());
            }
            // U+10FFFF cannot be bumped; drop it and bump the code point before it.
            end = start;
        }
        return null;
    }

    /// <summary>True when <paramref name="value"/> has no lone surrogate, so it round-trips through UTF-8.</summary>
    public static bool IsWellFormed(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }
        return true;
    }

    // Maps a UTF-16 code unit so that code unit order becomes code point order: 0xE000–0xFFFF move down by
    // 0x800, surrogates move up by 0x2000 above them.
    private static int CodePointRank(char c) => c < 0xD800 ? c : c >= 0xE000 ? c - 0x800 : c + 0x2000;

    private sealed class KeyComparer : IComparer<string>
    {
        public int Compare(string? x, string? y) => EntryKeyOrder.Compare(x, y);
    }
}
