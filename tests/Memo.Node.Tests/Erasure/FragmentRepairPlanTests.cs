using System.Collections.Immutable;
using Memo.Node.Erasure;

namespace Memo.Node.Tests.Erasure;

/// <summary>The fragment repair rules (<see cref="FragmentRepairPlan"/>) for a 4+2 block.</summary>
public sealed class FragmentRepairPlanTests
{
    private static readonly ErasureCoding Coding = new(4, 2, 1024);
    private static readonly NodeId A = new(1), B = new(2), C = new(3), D = new(4), E = new(5), F = new(6), G = new(7), H = new(8);
    private static readonly ImmutableArray<NodeId> Holders = [A, B, C, D, E, F];

    private static Dictionary<NodeId, int> Answers(params (NodeId Node, int Index)[] answers) => answers.ToDictionary(a => a.Node, a => a.Index);

    [Fact]
    public void A_complete_block_needs_nothing_from_any_holder()
    {
        for (var self = 0; self < Holders.Length; self++)
        {
            var answers = Enumerable.Range(0, Holders.Length).Where(i => i != self).Select(i => (Holders[i], i)).Append((G, -1)).Append((H, -1)).ToArray();
            Assert.Equal(0, FragmentRepairPlan.Decide(Holders[self], self, Holders, Coding, Answers(answers), removed: false).Count);
        }
    }

    [Fact]
    public void The_first_keeping_holder_rebuilds_the_missing_indexes_onto_the_holders_that_have_none()
    {
        // E (index 4) was lost; G took its place in the holder list and holds nothing yet. F lost its fragment too.
        var holders = ImmutableArray.Create(A, B, C, D, G, F);
        var answers = Answers((B, 1), (C, 2), (D, 3), (G, -1), (F, -1), (H, -1));

        var plan = FragmentRepairPlan.Decide(A, 0, holders, Coding, answers, removed: false);

        Assert.Equal([new FragmentRebuild(4, G), new FragmentRebuild(5, F)], plan.Rebuilds.ToArray());
        Assert.False(plan.DropOwn);
        // Every other holder sees the same gap and leaves it to A.
        var fromB = new Dictionary<NodeId, int>(answers) { [A] = 0 };
        fromB.Remove(B);
        Assert.Equal(0, FragmentRepairPlan.Decide(B, 1, holders, Coding, fromB, removed: false).Count);
    }

    [Fact]
    public void Nothing_is_decided_while_a_holder_is_silent()
    {
        // D is down but not yet evicted: it may hold index 3, so nothing is rebuilt before the eviction delay.
        var answers = Answers((B, 1), (C, 2), (E, 4), (F, 5));
        Assert.Equal(FragmentRepairPlan.Nothing, FragmentRepairPlan.Decide(A, 0, Holders, Coding, answers, removed: false));
    }

    [Fact]
    public void A_node_outside_the_holders_hands_its_fragment_to_the_holder_that_lacks_it_and_drops_it_once_a_holder_keeps_it()
    {
        // H joined and pushed F out of the holder list; F still holds index 5.
        var holders = ImmutableArray.Create(A, B, C, H, D, E);
        var before = Answers((A, 0), (B, 1), (C, 2), (D, 3), (E, 4), (H, -1), (G, -1));
        Assert.Equal(H, FragmentRepairPlan.Decide(F, 5, holders, Coding, before, removed: false).SendOwnTo);
        // The repairer does not rebuild what F will hand over.
        var fromA = new Dictionary<NodeId, int>(before) { [F] = 5 };
        fromA.Remove(A);
        Assert.Empty(FragmentRepairPlan.Decide(A, 0, holders, Coding, fromA, removed: false).Rebuilds);

        var after = new Dictionary<NodeId, int>(before) { [H] = 5 };
        Assert.True(FragmentRepairPlan.Decide(F, 5, holders, Coding, after, removed: false).DropOwn);
    }

    [Fact]
    public void A_holder_with_a_duplicate_index_drops_it_and_a_removed_block_is_dropped_everywhere()
    {
        var answers = Answers((A, 0), (B, 1), (C, 2), (D, 3), (F, 5));
        var plan = FragmentRepairPlan.Decide(E, 2, Holders, Coding, answers, removed: false);
        Assert.True(plan.DropOwn);
        Assert.True(FragmentRepairPlan.Decide(A, 0, Holders, Coding, Answers((B, 1)), removed: true).DropOwn);
    }

    [Fact]
    public void Fewer_than_K_fragments_left_is_reported_and_nothing_is_sent()
    {
        var answers = Answers((B, 1), (C, -1), (D, -1), (E, -1), (F, -1));
        var plan = FragmentRepairPlan.Decide(A, 0, Holders, Coding, answers, removed: false);
        Assert.True(plan.Unrecoverable);
        Assert.Empty(plan.Rebuilds);
    }
}
