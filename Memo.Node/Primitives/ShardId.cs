namespace Memo.Node;

/// <summary>
/// One of the fixed number of shards (a power of two chosen when the network is created) that split the
/// address space. A block's shard is the leading bits of its address; a key-value entry's shard is the
/// leading bits of SHA-256(key).
/// </summary>
public readonly record struct ShardId(int Value) : IComparable<ShardId>
{
    /// <inheritdoc />
    public int CompareTo(ShardId other) => Value.CompareTo(other.Value);

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
