namespace Memo.Node;

/// <summary>
/// A node's identity in the cluster and in every Raft group it belongs to: a non-zero 64-bit number drawn
/// at the node's first start and kept in its data folder. Zero means "no node" (no vote, no leader).
/// </summary>
public readonly record struct NodeId(ulong Value) : IComparable<NodeId>
{
    /// <summary>No node.</summary>
    public static NodeId None => default;

    /// <summary>True for <see cref="None"/>.</summary>
    public bool IsNone => Value == 0;

    /// <inheritdoc />
    public int CompareTo(NodeId other) => Value.CompareTo(other.Value);

    /// <inheritdoc />
    public override string ToString() => Value.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
