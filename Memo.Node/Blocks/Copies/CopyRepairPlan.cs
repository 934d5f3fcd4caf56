using System.Collections.Immutable;
using Memo.Node.Cluster;
using Memo.Protocol.Blocks;

namespace Memo.Node.Blocks.Copies;

/// <summary>One copy to send: the block at <paramref name="Address"/> to <paramref name="Target"/>.</summary>
public readonly record struct CopyPush(BlockAddress Address, NodeId Target);

/// <summary>
/// What one node does about one range of its block copies of one shard after comparing them with the other
/// replicas' copies in the same range: pure decision code (the anti-entropy pass does the I/O).
/// </summary>
/// <remarks>
/// <para>Rules, for each address this node holds:</para>
/// <list type="bullet">
/// <item>A node in the ring's replica set sends its copy to every other member of the set that answered and lacks it
/// (a new replica after a join, the replacement of a lost one, a replica whose bad copy was dropped).</item>
/// <item>A node outside the set (placement moved away) sends its copy only when no member of the set that answered
/// holds one: otherwise the members spread it among themselves. This keeps a block alive when its whole set
/// changed at once.</item>
/// <item>A node outside the set drops its copy once every member of the set answered and holds one. A member that
/// did not answer keeps every copy where it is.</item>
/// </list>
/// <para>At most <c>maxActions</c> pushes and drops are returned (the pass's rate limit); the rest waits for the next pass.</para>
/// </remarks>
/// <param name="Pushes">Copies to send, in address order.</param>
/// <param name="Drops">Local copies no longer needed here.</param>
public sealed record CopyRepairPlan(ImmutableArray<CopyPush> Pushes, ImmutableArray<BlockAddress> Drops)
{
    /// <summary>Nothing to do.</summary>
    public static CopyRepairPlan Empty { get; } = new([], []);

    /// <summary>The number of actions (pushes and drops).</summary>
    public int Count => Pushes.Length + Drops.Length;

    /// <summary>Decides the pushes and drops for <paramref name="local"/> (this node's copies in one range).</summary>
    /// <param name="self">This node.</param>
    /// <param name="replicas">The shard's replica set from the ring.</param>
    /// <param name="local">This node's copies in the range.</param>
    /// <param name="heldBy">Each other member's copies in the same range; a member missing from the map (or mapped to
    /// null) did not answer.</param>
    /// <param name="maxActions">The most pushes and drops to return.</param>
    public static CopyRepairPlan Decide(NodeId self, ReplicaSet replicas, IReadOnlyList<BlockAddress> local,
        IReadOnlyDictionary<NodeId, IReadOnlySet<BlockAddress>?> heldBy, int maxActions)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(heldBy);
        ArgumentOutOfRangeException.ThrowIfNegative(maxActions);
        if (replicas.Count == 0 || maxActions == 0)
        {
            return Empty; // no placement known: moving or dropping anything would be a guess
        }
        var member = replicas.Contains(self);
        var others = replicas.Nodes.Where(n => n != self).ToList();
        var pushes = ImmutableArray.CreateBuilder<CopyPush>();
        var drops = ImmutableArray.CreateBuilder<BlockAddress>();
        foreach (var address in local.Order())
        {
            var lacking = new List<NodeId>();
            var holders = 0;
            var silent = 0;
            foreach (var node in others)
            {
                if (!heldBy.TryGetValue(node, out var held) || held is null)
                {
                    silent++;
                }
                else if (held.Contains(address))
                {
                    holders++;
                }
                else
                {
                    lacking.Add(node);
                }
            }
            if (member || holders == 0)
            {
                foreach (var node in lacking)
                {
                    if (pushes.Count + drops.Count >= maxActions)
                    {
                        return new CopyRepairPlan(pushes.ToImmutable(), drops.ToImmutable());
                    }
                    pushes.Add(new CopyPush(address, node));
                }
            }
            else if (silent == 0 && lacking.Count == 0)
            {
                if (pushes.Count + drops.Count >= maxActions)
                {
                    break;
                }
                drops.Add(address);
            }
        }
        return new CopyRepairPlan(pushes.ToImmutable(), drops.ToImmutable());
    }
}
