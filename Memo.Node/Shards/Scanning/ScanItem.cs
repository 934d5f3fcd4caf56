namespace Memo.Node.Shards.Scanning;

/// <summary>One entry of a listing page: a key, or a common prefix that stands for every key under it.</summary>
/// <param name="Text">The key or the common prefix (ending with the delimiter).</param>
/// <param name="IsPrefix">Whether <paramref name="Text"/> is a rolled-up common prefix.</param>
public readonly record struct ScanItem(string Text, bool IsPrefix)
{
    /// <summary>The position just past this item: past the key, or past every key under the prefix.</summary>
    public ScanPosition End => new(Text, IsPrefix);
}
