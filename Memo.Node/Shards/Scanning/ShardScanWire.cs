using Memo.Node.Storage;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards.Scanning;

/// <summary>A <see cref="KeyScan"/> and its <see cref="KeyScanResult"/> on the node-internal wire (<c>ScanQuery</c>, <c>ReadReply</c>).</summary>
public static class ShardScanWire
{
    /// <summary>The query for <paramref name="scan"/> (shards still to be added).</summary>
    public static ScanQuery ToQuery(KeyScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        return new ScanQuery
        {
            Prefix = scan.Prefix,
            HasAfter = scan.After is not null,
            After = scan.After?.Key ?? "",
            AfterPastPrefix = scan.After?.PastPrefix ?? false,
            Delimiter = scan.Delimiter,
            Limit = (uint)scan.Limit,
            MaxRows = (uint)scan.MaxRows,
        };
    }

    /// <summary>
    /// The most keys one scan returns, whatever the request asks: the largest page a gateway asks for
    /// (<c>memo.kvs.max-list-keys</c>, at most 1,000,000, plus one to learn whether more follow). A request for more
    /// is served this many, so a caller cannot make the node walk and buffer an unbounded number of keys.
    /// </summary>
    public const int MaxScanKeys = 1_000_001;

    /// <summary>The scan a query asks for (its limit capped at <see cref="MaxScanKeys"/>), or null (with the reason)
    /// when it is malformed.</summary>
    public static KeyScan? FromQuery(ScanQuery query, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(query);
        problem = query.Limit == 0 || query.Limit > int.MaxValue - 1 ? $"limit {query.Limit} is out of range"
            : query.MaxRows == 0 || query.MaxRows > int.MaxValue ? $"max_rows {query.MaxRows} is out of range"
            : !EntryKeyOrder.IsWellFormed(query.Prefix) || !EntryKeyOrder.IsWellFormed(query.After) || !EntryKeyOrder.IsWellFormed(query.Delimiter)
                ? "the prefix, the position or the delimiter holds a lone surrogate"
            : null;
        return problem is null
            ? new KeyScan(query.Prefix, query.HasAfter ? new ScanPosition(query.After, query.AfterPastPrefix) : null, query.Delimiter, (int)Math.Min(query.Limit, MaxScanKeys), (int)query.MaxRows)
            : null;
    }

    /// <summary>Writes <paramref name="result"/> into <paramref name="reply"/>.</summary>
    public static void ToReply(KeyScanResult result, ReadReply reply)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(reply);
        foreach (var item in result.Items)
        {
            (item.IsPrefix ? reply.Prefixes : reply.Keys).Add(item.Text);
        }
        reply.ScanComplete = result.ResumeAfter is null;
        reply.ResumeKey = result.ResumeAfter?.Key ?? "";
        reply.ResumePastPrefix = result.ResumeAfter?.PastPrefix ?? false;
    }

    /// <summary>The result a reply carries.</summary>
    public static KeyScanResult FromReply(ReadReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var items = reply.Keys.Select(k => new ScanItem(k, false)).Concat(reply.Prefixes.Select(p => new ScanItem(p, true))).ToList();
        return new KeyScanResult(items, reply.ScanComplete ? null : new ScanPosition(reply.ResumeKey, reply.ResumePastPrefix));
    }
}
