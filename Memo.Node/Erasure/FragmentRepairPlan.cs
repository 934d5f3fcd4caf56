using System.Collections.Immutable;

namespace Memo.Node.Erasure;

/// <summary>
/// What one holder of a fragment does about one erasure-coded block in an anti-entropy pass, decided from what every
/// node answered: drop its own fragment, hand it to a holder that has none, or (as the block's designated repairer)
/// rebuild missing fragments from K others and store them on holders that have none. Pure, so every rule is a unit test.
/// </summary>
/// <remarks>
/// <para>The rules, for a block whose holder list (<see cref="FragmentPlacement.HoldersOf"/>) is H and whose nodes
/// answered with the fragment index they hold (or none):</para>
/// <list type="bullet">
/// <item>A block seen removed anywhere (a reclaim or delete applied through its shard) is dropped: garbage must not
/// be repaired back to life.</item>
/// <item>Nothing is decided while a node of H is silent: it may hold the very fragment that looks missing (a node
/// that is down is silent until it is evicted and leaves the ring, which is what the eviction delay is for).</item>
/// <item>An index is <em>held</em> when a node of H holds it; the first such node in rank order keeps it, and a later
/// one holding the same index drops its copy (it then has none and is given a missing one). <em>Missing</em> indexes
/// (ascending) are paired with the nodes of H that hold none (in rank order): the j-th missing index goes to the j-th
/// such node. Every node computes the same pairs from the same answers, so the work is not done twice.</item>
/// <item>A node outside H (placement moved, or a node joined) hands its fragment over when its index is paired with a
/// target (a cheap transfer, no decoding) and drops it once a node of H holds that index.</item>
/// <item>The <em>repairer</em> is the first node of H in rank order that keeps an index. It rebuilds every paired
/// index no node outside H holds (those are transferred instead), provided K distinct indexes are held somewhere.</item>
/// </list>
/// </remarks>
/// <param name="DropOwn">Remove this node's fragment.</param>
/// <param name="SendOwnTo">Send this node's fragment, as it is, to this node; <see cref="NodeId.None"/> for none.</param>
/// <param name="Rebuilds">Fragments to rebuild from K others and store on a target.</param>
/// <param name="Unrecoverable">True when fragments are missing and fewer than K distinct ones are held anywhere.</param>
public sealed record FragmentRepairPlan(bool DropOwn, NodeId SendOwnTo, ImmutableArray<FragmentRebuild> Rebuilds, bool Unrecoverable)
{
    /// <summary>Nothing to do.</summary>
    public static FragmentRepairPlan Nothing { get; } = new(false, NodeId.None, [], false);

    /// <summary>The number of fragments this plan sends or drops (what a pass's budget counts).</summary>
    public int Count => (DropOwn ? 1 : 0) + (SendOwnTo.IsNone ? 0 : 1) + Rebuilds.Length;

    /// <summary>Decides for one block.</summary>
    /// <param name="self">This node.</param>
    /// <param name="ownIndex">The fragment index this node holds.</param>
    /// <param name="holders">The block's holder list, in rank order.</param>
    /// <param name="coding">The network's erasure coding.</param>
    /// <param name="answers">The fragment index each node that answered holds (-1: none); a node absent is silent.</param>
    /// <param name="removed">True when some node saw the block removed.</param>
    public static FragmentRepairPlan Decide(NodeId self, int ownIndex, ImmutableArray<NodeId> holders, ErasureCoding coding,
        IReadOnlyDictionary<NodeId, int> answers, bool removed)
    {
        ArgumentNullException.ThrowIfNull(answers);
        if (removed)
        {
            return Nothing with { DropOwn = true };
        }
        int IndexOf(NodeId node) => node == self ? ownIndex : answers.TryGetValue(node, out var i) && i >= 0 && i < coding.TotalFragments ? i : -1;
        if (holders.Any(n => n != self && !answers.ContainsKey(n)))
        {
            return Nothing;
        }
        var keeper = new Dictionary<int, NodeId>();
        var lacking = new List<NodeId>();
        foreach (var node in holders)
        {
            var index = IndexOf(node);
            if (index < 0 || (keeper.ContainsKey(index) && keeper[index] != node))
            {
                // A duplicate is dropped by its holder (below) and then has none: count it as lacking from the next pass.
                if (index < 0)
                {
                    lacking.Add(node);
                }
                continue;
            }
            keeper[index] = node;
        }
        var missing = Enumerable.Range(0, coding.TotalFragments).Where(i => !keeper.ContainsKey(i)).ToList();
        var pairs = missing.Zip(lacking, (index, target) => new FragmentRebuild(index, target)).ToList();
        if (!holders.Contains(self))
        {
            if (keeper.ContainsKey(ownIndex))
            {
                return Nothing with { DropOwn = true };
            }
            var pair = pairs.Find(p => p.Index == ownIndex);
            return pair is null ? Nothing : Nothing with { SendOwnTo = pair.Target };
        }
        if (keeper[ownIndex] != self)
        {
            return Nothing with { DropOwn = true };
        }
        var repairer = holders.First(n => IndexOf(n) is >= 0 and var i && keeper[i] == n);
        if (repairer != self || pairs.Count == 0)
        {
            return Nothing;
        }
        var heldOutside = answers.Where(a => !holders.Contains(a.Key) && a.Value >= 0 && a.Value < coding.TotalFragments).Select(a => a.Value).ToHashSet();
        var rebuilds = pairs.Where(p => !heldOutside.Contains(p.Index)).ToImmutableArray();
        var available = keeper.Keys.Concat(heldOutside).Distinct().Count();
        if (rebuilds.Length > 0 && available < coding.DataFragments)
        {
            return Nothing with { Unrecoverable = true };
        }
        return Nothing with { Rebuilds = rebuilds };
    }
}

/// <summary>Rebuild fragment <paramref name="Index"/> of a block and store it on <paramref name="Target"/>.</summary>
public sealed record FragmentRebuild(int Index, NodeId Target);
