using Memo.Node.Storage;

namespace Memo.Node.Shards.Scanning;

/// <summary>Runs a <see cref="KeyScanWalk"/> over a silo's entries, a page at a time.</summary>
public static class SiloKeyScan
{
    /// <summary>Walks <paramref name="scan"/> over <paramref name="silo"/>; <paramref name="listed"/> says which stored entries this node lists.</summary>
    public static async Task<KeyScanResult> RunAsync(ISilo silo, KeyScan scan, Func<SiloEntry, bool> listed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(listed);
        var walk = new KeyScanWalk(scan);
        while (!walk.IsDone)
        {
            var asked = walk.NextPageRows;
            var page = walk.Position is { } position
                ? await position.ScanAfterAsync(silo, scan.Prefix, asked, cancellationToken).ConfigureAwait(false)
                : await silo.ScanEntriesAsync(scan.Prefix, null, asked, cancellationToken).ConfigureAwait(false);
            foreach (var entry in page)
            {
                if (!walk.Offer(entry.Key, listed(entry)))
                {
                    break;
                }
            }
            walk.EndPage(page.Count, asked);
        }
        return walk.Result();
    }
}
