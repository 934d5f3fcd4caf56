namespace Memo.Node.Cluster;

/// <summary>One virtual node: a token on the 64-bit ring owned by a node. Ordered by token, then NodeId (so equal
/// tokens of two nodes, however unlikely, still order the same on every node).</summary>
/// <param name="Token">Position on the ring.</param>
/// <param name="Node">The owner.</param>
public readonly record struct RingEntry(ulong Token, NodeId Node) : IComparable<RingEntry>
{
    /// <inheritdoc />
    public int CompareTo(RingEntry other)
    {
        var c = Token.CompareTo(other.Token);
        return c != 0 ? c : Node.CompareTo(other.Node);
    }
}
