using Memo.Node.Cluster;

namespace Memo.Node.Blocks.Copies;

/// <summary>
/// When a block written straight to its replica set may be pointed at: once a majority of the set the writer sees
/// holds a durable copy. Any two majorities of one set meet, and anti-entropy spreads the block from there.
/// </summary>
public static class CopyQuorum
{
    /// <summary>The number of durable copies a set of <paramref name="replicas"/> nodes needs (a majority; 0 for none).</summary>
    public static int Of(int replicas) => replicas <= 0 ? 0 : (replicas / 2) + 1;

    /// <summary>True when the nodes of <paramref name="replicas"/> in <paramref name="durable"/> are a majority of it;
    /// copies on nodes outside the set do not count. An empty set is never satisfied.</summary>
    public static bool IsReached(ReplicaSet replicas, IReadOnlySet<NodeId> durable)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(durable);
        if (replicas.Count == 0)
        {
            return false;
        }
        var held = 0;
        foreach (var node in replicas.Nodes)
        {
            if (durable.Contains(node))
            {
                held++;
            }
        }
        return held >= Of(replicas.Count);
    }
}
