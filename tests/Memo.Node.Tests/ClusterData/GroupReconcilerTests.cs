using System.Collections.Immutable;
using Memo.Node.Cluster;
using Memo.Node.Raft;
using Memo.Node.Shards.Hosting;

namespace Memo.Node.Tests.ClusterData;

public sealed class GroupReconcilerTests
{
    private static readonly NodeId A = new(1), B = new(2), C = new(3), D = new(4);

    private static ReplicaSet Ring(params NodeId[] nodes) => new(nodes.ToImmutableArray());

    private static Dictionary<NodeId, FollowerProgress> Progress(params (NodeId Node, ulong Match)[] members) =>
        members.ToDictionary(m => m.Node, m => new FollowerProgress(new LogIndex(m.Match), new LogIndex(m.Match + 1), ProgressState.Replicate, false, true));

    private static GroupStep? Next(RaftMembership membership, ReplicaSet ring, Dictionary<NodeId, FollowerProgress> progress, ulong last = 100) =>
        GroupReconciler.Next(A, membership, ring, progress, new LogIndex(last), 10, node => $"host-{node.Value}:1");

    [Fact]
    public void A_group_equal_to_the_ring_needs_no_change()
    {
        Assert.Null(Next(RaftMembership.Create([A, B, C]), Ring(B, A, C), Progress((A, 100), (B, 100), (C, 100))));
    }

    [Fact]
    public void A_node_the_ring_names_is_added_as_a_learner_first()
    {
        Assert.Equal(new GroupStep.AddLearner(B, "host-2:1"), Next(RaftMembership.Create([A]), Ring(A, B, C), Progress((A, 100))));
    }

    [Fact]
    public void A_learner_is_promoted_only_once_caught_up_and_blocks_other_changes_until_then()
    {
        var membership = RaftMembership.Create([A, D], [B]);
        Assert.Null(Next(membership, Ring(A, B, C), Progress((A, 100), (D, 100), (B, 50))));
        Assert.Equal(new GroupStep.Promote(B), Next(membership, Ring(A, B, C), Progress((A, 100), (D, 100), (B, 95))));
    }

    [Fact]
    public void A_learner_with_no_confirmed_match_is_not_caught_up_even_on_a_short_log()
    {
        var membership = RaftMembership.Create([A], [B]);
        var probing = new Dictionary<NodeId, FollowerProgress>
        {
            [A] = new(new LogIndex(4), new LogIndex(5), ProgressState.Replicate, false, true),
            [B] = new(LogIndex.Zero, new LogIndex(1), ProgressState.Snapshot, true, true),
        };
        Assert.Null(Next(membership, Ring(A, B), probing, last: 4));
    }

    [Fact]
    public void A_voter_the_ring_dropped_is_removed_only_after_every_named_node_is_a_voter()
    {
        Assert.Equal(new GroupStep.AddLearner(D, "host-4:1"), Next(RaftMembership.Create([A, B, C]), Ring(A, B, D), Progress((A, 100), (B, 100), (C, 100))));
        Assert.Equal(new GroupStep.Remove(C), Next(RaftMembership.Create([A, B, C, D]), Ring(A, B, D), Progress((A, 100), (B, 100), (C, 100), (D, 100))));
    }

    [Fact]
    public void A_learner_the_ring_no_longer_names_is_removed()
    {
        Assert.Equal(new GroupStep.Remove(D), Next(RaftMembership.Create([A, B, C], [D]), Ring(A, B, C), Progress((A, 100), (B, 100), (C, 100), (D, 3))));
    }

    [Fact]
    public void A_leader_the_ring_dropped_hands_leadership_to_the_most_caught_up_named_voter()
    {
        var step = Next(RaftMembership.Create([A, B, C, D]), Ring(B, C, D), Progress((A, 100), (B, 97), (C, 100), (D, 20)));
        Assert.Equal(new GroupStep.TransferLeadership(C), step);
    }

    [Fact]
    public void An_empty_ring_or_an_unconfigured_group_changes_nothing()
    {
        Assert.Null(Next(RaftMembership.Create([A, B]), ReplicaSet.Empty, Progress((A, 1))));
        Assert.Null(Next(RaftMembership.Empty, Ring(A), Progress()));
    }
}
