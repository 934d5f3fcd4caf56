using Memo.Node.Storage;

namespace Memo.Node.Shards.Scanning;

/// <summary>
/// Merges the walks of several nodes (each listing the shards it leads) into one page. Pure.
/// </summary>
/// <remarks>
/// Every node returns its first items in key order, so an item among the first <c>limit</c> of the union is among
/// the first <c>limit</c> + 1 of the node that holds it. A node that stopped early (work budget) has seen nothing past
/// its <see cref="KeyScanResult.ResumeAfter"/>, so the page only keeps items that start at or before the earliest such
/// position, and resumes from there or from the end of its last item, whichever is later. A common prefix found by
/// several nodes is listed once.
/// </remarks>
public static class KeyScanMerge
{
    private static readonly IComparer<ScanItem> ItemOrder = Comparer<ScanItem>.Create((a, b) =>
    {
        var byText = EntryKeyOrder.Compare(a.Text, b.Text);
        return byText != 0 ? byText : a.IsPrefix.CompareTo(b.IsPrefix);
    });

    /// <summary>The page of at most <paramref name="limit"/> items the parts make together.</summary>
    public static KeyScanPage Merge(IEnumerable<KeyScanResult> parts, int limit)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var items = new SortedSet<ScanItem>(ItemOrder);
        ScanPosition? cut = null;
        foreach (var part in parts)
        {
            items.UnionWith(part.Items);
            if (part.ResumeAfter is { } stopped)
            {
                cut = cut is { } earlier && ScanPosition.Compare(earlier, stopped) <= 0 ? earlier : stopped;
            }
        }
        var page = cut is { } c ? items.Where(i => c.Covers(i.Text)).ToList() : items.ToList();
        if (page.Count > limit)
        {
            return new KeyScanPage(page.GetRange(0, limit), Truncated: true, page[limit - 1].End);
        }
        if (cut is { } stop)
        {
            return new KeyScanPage(page, Truncated: true, page.Count > 0 ? ScanPosition.Max(stop, page[^1].End) : stop);
        }
        return new KeyScanPage(page, Truncated: false, Next: null);
    }
}
