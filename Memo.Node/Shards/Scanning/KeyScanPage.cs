namespace Memo.Node.Shards.Scanning;

/// <summary>One page of a listing merged from every node's walk.</summary>
/// <param name="Items">Keys and common prefixes in key order, at most the scan's limit.</param>
/// <param name="Truncated">Whether more may follow.</param>
/// <param name="Next">Where the next page resumes when <paramref name="Truncated"/>.</param>
public sealed record KeyScanPage(IReadOnlyList<ScanItem> Items, bool Truncated, ScanPosition? Next);
