using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>
/// The nodes that should hold one shard, in ring order: the first is the preferred Raft leader, the rest follow
/// clockwise. Distinct NodeIds; empty only when the ring is empty.
/// </summary>
public sealed class ReplicaSet : IEquatable<ReplicaSet>
{
    /// <summary>No replicas (an empty ring).</summary>
    public static ReplicaSet Empty { get; } = new([]);

    /// <summary>A replica set of <paramref name="nodes"/> in this order; throws on duplicates or <see cref="NodeId.None"/>.</summary>
    public ReplicaSet(ImmutableArray<NodeId> nodes)
    {
        for (var i = 0; i < nodes.Length; i++)
        {
            if (nodes[i].IsNone)
            {
                throw new ArgumentException("A replica set cannot contain NodeId.None.", nameof(nodes));
            }
            for (var j = 0; j < i; j++)
            {
                if (nodes[j] == nodes[i])
                {
                    throw new ArgumentException($"{nodes[i]} appears twice in a replica set.", nameof(nodes));
                }
            }
        }
        Nodes = nodes;
    }

    /// <summary>The replicas, preferred leader first.</summary>
    public ImmutableArray<NodeId> Nodes { get; }

    /// <summary>Number of replicas.</summary>
    public int Count => Nodes.Length;

    /// <summary>The preferred Raft leader (the first replica), or <see cref="NodeId.None"/> when empty.</summary>
    public NodeId Preferred => Nodes.IsEmpty ? NodeId.None : Nodes[0];

    /// <summary>True when <paramref name="node"/> is a replica.</summary>
    public bool Contains(NodeId node) => Nodes.Contains(node);

    /// <summary>True when both hold the same nodes, in any order.</summary>
    public bool SetEquals(ReplicaSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Count == other.Count && Nodes.All(other.Contains);
    }

    /// <summary>Equal nodes in equal order.</summary>
    public bool Equals(ReplicaSet? other) => other is not null && Nodes.SequenceEqual(other.Nodes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ReplicaSet);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var node in Nodes)
        {
            hash.Add(node);
        }
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", Nodes) + "]";
}
