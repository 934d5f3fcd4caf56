namespace Memo.Node.Shards.Scanning;

/// <summary>
/// A listing scan: keys starting with <see cref="Prefix"/> after <see cref="After"/>, those holding
/// <see cref="Delimiter"/> after the prefix rolled up into common prefixes, at most <see cref="Limit"/> items, reading
/// at most <see cref="MaxRows"/> stored rows per node.
/// </summary>
/// <param name="Prefix">Keys listed start with this.</param>
/// <param name="After">Where to resume; null: from the first key with the prefix.</param>
/// <param name="Delimiter">Rolls keys up at its first occurrence after the prefix; empty: no roll-up.</param>
/// <param name="Limit">Most items (keys and common prefixes) in the page; at least 1.</param>
/// <param name="MaxRows">The work budget: most stored rows one node reads for this scan; at least 1.</param>
public sealed record KeyScan(string Prefix, ScanPosition? After, string Delimiter, int Limit, int MaxRows)
{
    /// <summary>
    /// The item <paramref name="key"/> lists as: the key itself, or its common prefix when the delimiter occurs after
    /// the listing prefix (the key up to and including that first occurrence).
    /// </summary>
    public ScanItem ItemOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (Delimiter.Length == 0 || key.Length < Prefix.Length)
        {
            return new ScanItem(key, false);
        }
        var cut = key.AsSpan(Prefix.Length).IndexOf(Delimiter, StringComparison.Ordinal);
        return cut < 0 ? new ScanItem(key, false) : new ScanItem(key[..(Prefix.Length + cut + Delimiter.Length)], true);
    }

    /// <summary>
    /// The position a client's marker stands for: after every key under it when it is a common prefix this listing
    /// returns (it starts with the prefix and its first delimiter after the prefix is at its end), else after the key;
    /// null for the empty marker.
    /// </summary>
    public static ScanPosition? PositionOfMarker(string prefix, string delimiter, string marker)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(delimiter);
        ArgumentNullException.ThrowIfNull(marker);
        if (marker.Length == 0)
        {
            return null;
        }
        var rolledUp = delimiter.Length > 0
            && marker.Length >= prefix.Length + delimiter.Length
            && marker.StartsWith(prefix, StringComparison.Ordinal)
            && marker.AsSpan(prefix.Length).IndexOf(delimiter, StringComparison.Ordinal) == marker.Length - prefix.Length - delimiter.Length;
        return new ScanPosition(marker, rolledUp);
    }
}
