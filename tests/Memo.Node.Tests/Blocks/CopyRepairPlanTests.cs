using System.Collections.Immutable;
using Memo.Node.Blocks.Copies;
using Memo.Node.Cluster;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Blocks;

public sealed class CopyRepairPlanTests
{
    private static readonly NodeId A = new(1), B = new(2), C = new(3), D = new(4);

    private static BlockAddress Addr(byte b)
    {
        var bytes = new byte[BlockAddress.Length];
        bytes[0] = b;
        bytes[^1] = 1; // immutable
        return BlockAddress.FromBytes(bytes);
    }

    private static ReplicaSet Set(params NodeId[] nodes) => new([.. nodes]);

    private static IReadOnlySet<BlockAddress> Held(params BlockAddress[] addresses) => addresses.ToHashSet();

    [Fact]
    public void A_member_sends_its_copy_to_every_member_that_answered_without_it()
    {
        var plan = CopyRepairPlan.Decide(A, Set(A, B, C), [Addr(1), Addr(2)],
            new Dictionary<NodeId, IReadOnlySet<BlockAddress>?> { [B] = Held(Addr(1)), [C] = Held() }, maxActions: 100);

        Assert.Equal(new[] { new CopyPush(Addr(1), C), new CopyPush(Addr(2), B), new CopyPush(Addr(2), C) }, plan.Pushes.ToArray());
        Assert.Empty(plan.Drops);
    }

    [Fact]
    public void A_member_that_did_not_answer_is_sent_nothing()
    {
        var plan = CopyRepairPlan.Decide(A, Set(A, B, C), [Addr(1)],
            new Dictionary<NodeId, IReadOnlySet<BlockAddress>?> { [B] = null }, maxActions: 100);

        Assert.Empty(plan.Pushes);
        Assert.Empty(plan.Drops);
    }

    [Fact]
    public void A_node_placement_moved_away_from_drops_its_copy_once_every_member_holds_one()
    {
        var plan = CopyRepairPlan.Decide(D, Set(A, B, C), [Addr(1), Addr(2)],
            new Dictionary<NodeId, IReadOnlySet<BlockAddress>?> { [A] = Held(Addr(1), Addr(2)), [B] = Held(Addr(1)), [C] = Held(Addr(1), Addr(2)) },
            maxActions: 100);

        // Addr(2) is held by A and C: they spread it to B, D keeps its copy until then and sends nothing.
        Assert.Empty(plan.Pushes);
        Assert.Equal(new[] { Addr(1) }, plan.Drops.ToArray());
    }

    [Fact]
    public void A_node_placement_moved_away_from_keeps_its_copy_while_a_member_is_silent()
    {
        var plan = CopyRepairPlan.Decide(D, Set(A, B, C), [Addr(1)],
            new Dictionary<NodeId, IReadOnlySet<BlockAddress>?> { [A] = Held(Addr(1)), [B] = Held(Addr(1)) }, maxActions: 100);

        Assert.Empty(plan.Drops);
        Assert.Empty(plan.Pushes);
    }

    [Fact]
    public void The_last_holder_outside_the_set_sends_its_copy_to_every_member()
    {
        var plan = CopyRepairPlan.Decide(D, Set(A, B, C), [Addr(1)],
            new Dictionary<NodeId, IReadOnlySet<BlockAddress>?> { [A] = Held(), [B] = Held(), [C] = null }, maxActions: 100);

        Assert.Equal(new[] { new CopyPush(Addr(1), A), new CopyPush(Addr(1), B) }, plan.Pushes.ToArray());
        Assert.Empty(plan.Drops);
    }

    [Fact]
    public void A_plan_stops_at_the_rate_limit_in_address_order()
    {
        var plan = CopyRepairPlan.Decide(A, Set(A, B), [Addr(3), Addr(1), Addr(2)],
            new Dictionary<NodeId, IReadOnlySet<BlockAddress>?> { [B] = Held() }, maxActions: 2);

        Assert.Equal(new[] { new CopyPush(Addr(1), B), new CopyPush(Addr(2), B) }, plan.Pushes.ToArray());
        Assert.Equal(2, plan.Count);
    }

    [Fact]
    public void Without_a_placement_nothing_moves()
    {
        var plan = CopyRepairPlan.Decide(A, ReplicaSet.Empty, [Addr(1)], new Dictionary<NodeId, IReadOnlySet<BlockAddress>?>(), maxActions: 10);

        Assert.Equal(0, plan.Count);
    }

    [Fact]
    public void A_quorum_is_a_majority_of_the_set_and_copies_outside_it_do_not_count()
    {
        Assert.Equal(1, CopyQuorum.Of(1));
        Assert.Equal(2, CopyQuorum.Of(3));
        Assert.Equal(3, CopyQuorum.Of(4));
        Assert.True(CopyQuorum.IsReached(Set(A, B, C), new HashSet<NodeId> { A, C }));
        Assert.False(CopyQuorum.IsReached(Set(A, B, C), new HashSet<NodeId> { A, D }));
        Assert.False(CopyQuorum.IsReached(ReplicaSet.Empty, new HashSet<NodeId> { A }));
        Assert.True(CopyQuorum.IsReached(Set(A), new HashSet<NodeId> { A }));
    }
}
