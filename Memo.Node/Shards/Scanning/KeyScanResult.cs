namespace Memo.Node.Shards.Scanning;

/// <summary>What one node's walk of a <see cref="KeyScan"/> found.</summary>
/// <param name="Items">Keys and common prefixes in key order (at most the scan's limit + 1).</param>
/// <param name="ResumeAfter">How far the walk got when it stopped before the end of the range; null when it read
/// to the end. Items past this position may exist that the walk did not reach.</param>
public sealed record KeyScanResult(IReadOnlyList<ScanItem> Items, ScanPosition? ResumeAfter);
