using Memo.Protocol.Kvs;

namespace Memo.Cli.Commands;

/// <summary>
/// The keys and rolled-up prefixes of one <c>kv list</c>, gathered from one page or, with <c>--all</c>, from every page.
/// </summary>
/// <remarks>
/// The next page starts after the greatest name (key or prefix) of the previous one, ordinal order. After a
/// rolled-up prefix this relies on the node skipping every key under a marker that is itself a returned prefix,
/// as S3 and memo do; a node that answers the same page again is caught by the no-progress check instead of looping.
/// </remarks>
internal sealed record KeyListing(IReadOnlyList<string> Keys, IReadOnlyList<string> Prefixes, bool Truncated, string? NextMarker, string? Problem)
{
    /// <summary>The most entries <c>--all</c> gathers before giving up; a table beyond this helps nobody.</summary>
    public const int MaxEntries = 1_000_000;

    /// <summary>Fetches one page, or all of them; <paramref name="fetchPage"/> takes the marker.</summary>
    public static async Task<KeyListing> CollectAsync(
        Func<string, CancellationToken, Task<ListResponse>> fetchPage, string marker, bool all, int maxEntries, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        var prefixes = new List<string>();
        var seenPrefixes = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var page = await fetchPage(marker, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                keys.Add(item.Key);
            }
            foreach (var prefix in page.Prefixes)
            {
                // A prefix can straddle two pages; show it once.
                if (seenPrefixes.Add(prefix))
                {
                    prefixes.Add(prefix);
                }
            }
            var next = MarkerAfter(page);
            if (!page.Truncated)
            {
                return new KeyListing(keys, prefixes, false, null, null);
            }
            if (next is null || string.CompareOrdinal(next, marker) <= 0)
            {
                return new KeyListing(keys, prefixes, true, next,
                    $"the node said the listing is truncated but its page does not advance past marker '{marker}'");
            }
            if (!all)
            {
                return new KeyListing(keys, prefixes, true, next, null);
            }
            if (keys.Count + prefixes.Count > maxEntries)
            {
                return new KeyListing(keys, prefixes, true, next,
                    $"more than {maxEntries} entries; narrow the listing with --prefix or continue with --marker '{next}'");
            }
            marker = next;
        }
    }

    /// <summary>The marker that continues after a page: the node's <c>next_marker</c> when it sent one (it may lie past
    /// the page when the node's work budget ended the page), else the page's greatest key or prefix, ordinal; null
    /// for an empty page without one.</summary>
    public static string? MarkerAfter(ListResponse page)
    {
        if (page.NextMarker.Length > 0)
        {
            return page.NextMarker;
        }
        string? greatest = null;
        foreach (var item in page.Items)
        {
            if (greatest is null || string.CompareOrdinal(item.Key, greatest) > 0)
            {
                greatest = item.Key;
            }
        }
        foreach (var prefix in page.Prefixes)
        {
            if (greatest is null || string.CompareOrdinal(prefix, greatest) > 0)
            {
                greatest = prefix;
            }
        }
        return greatest;
    }
}
