using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

public sealed class DowningDeciderTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(10);
    private const long Since = 1_000;
    private const long After = Since + 10_000;

    /// <summary>What <paramref name="self"/> decides when every node in <paramref name="unreachable"/> has been
    /// unreachable since <see cref="Since"/>.</summary>
    private static DowningDecision Decide(MembershipState state, int self, IEnumerable<int> unreachable, long now = After) =>
        DowningDecider.Decide(state, Id(self), unreachable.ToDictionary(Id, _ => Since), now, Delay);

    private static void AssertDowns(DowningDecision decision, params int[] expected)
    {
        var down = Assert.IsType<DowningDecision.Down>(decision);
        Assert.Equal(expected.Select(Id).ToArray(), down.Members.ToArray());
    }

    private static void AssertStops(DowningDecision decision, StopServingReason reason) =>
        Assert.Equal(reason, Assert.IsType<DowningDecision.StopServing>(decision).Reason);

    [Fact]
    public void Nothing_unreachable_means_nothing_to_decide()
    {
        var state = UpCluster(1, 2, 3);
        Assert.IsType<DowningDecision.Stable>(Decide(state, 1, []));
        Assert.IsType<DowningDecision.Stable>(Decide(state, 1, [1])); // self never counts as unreachable
        Assert.IsType<DowningDecision.Stable>(Decide(state, 9, [3])); // not a member yet
        Assert.IsType<DowningDecision.Stable>(Decide(state.Down(Id(1), Id(3)), 1, [3])); // already down
    }

    [Fact]
    public void The_decision_waits_until_the_newest_unreachability_is_as_old_as_the_eviction_delay()
    {
        var state = UpCluster(1, 2, 3, 4, 5);
        var since = new Dictionary<NodeId, long> { [Id(4)] = 1_000, [Id(5)] = 4_000 };
        var wait = Assert.IsType<DowningDecision.Wait>(DowningDecider.Decide(state, Id(1), since, 11_000, Delay));
        Assert.Equal(14_000, wait.DecideAtMillis);
        AssertDowns(DowningDecider.Decide(state, Id(1), since, 14_000, Delay), 4, 5);
    }

    [Fact]
    public void Three_nodes_the_pair_downs_the_single_and_the_single_stops()
    {
        var state = UpCluster(1, 2, 3);
        AssertDowns(Decide(state, 1, [3]), 3);
        AssertDowns(Decide(state, 2, [3]), 3);
        AssertStops(Decide(state, 3, [1, 2]), StopServingReason.Minority);
        // The lowest NodeId being alone does not help it: majority comes first.
        AssertDowns(Decide(state, 2, [1]), 1);
        AssertStops(Decide(state, 1, [2, 3]), StopServingReason.Minority);
    }

    [Fact]
    public void Four_nodes_split_in_halves_the_half_with_the_lowest_node_id_wins()
    {
        var state = UpCluster(1, 2, 3, 4);
        AssertDowns(Decide(state, 1, [3, 4]), 3, 4);
        AssertDowns(Decide(state, 2, [3, 4]), 3, 4);
        AssertStops(Decide(state, 3, [1, 2]), StopServingReason.LosingHalf);
        AssertStops(Decide(state, 4, [1, 2]), StopServingReason.LosingHalf);

        AssertDowns(Decide(state, 4, [2, 3]), 2, 3); // {1, 4} holds node 1
        AssertStops(Decide(state, 2, [1, 4]), StopServingReason.LosingHalf);
    }

    [Fact]
    public void Four_nodes_three_against_one_the_three_win()
    {
        var state = UpCluster(1, 2, 3, 4);
        AssertDowns(Decide(state, 2, [1]), 1);
        AssertStops(Decide(state, 1, [2, 3, 4]), StopServingReason.Minority);
    }

    [Fact]
    public void Five_nodes_the_three_win_even_without_the_lowest_node_id()
    {
        var state = UpCluster(1, 2, 3, 4, 5);
        AssertDowns(Decide(state, 3, [1, 2]), 1, 2);
        AssertDowns(Decide(state, 5, [1, 2]), 1, 2);
        AssertStops(Decide(state, 1, [3, 4, 5]), StopServingReason.Minority);
        AssertStops(Decide(state, 2, [3, 4, 5]), StopServingReason.Minority);
    }

    [Fact]
    public void Five_nodes_split_three_ways_nobody_has_a_majority_and_everyone_stops()
    {
        var state = UpCluster(1, 2, 3, 4, 5);
        AssertStops(Decide(state, 1, [3, 4, 5]), StopServingReason.Minority);
        AssertStops(Decide(state, 3, [1, 2, 5]), StopServingReason.Minority);
        AssertStops(Decide(state, 5, [1, 2, 3, 4]), StopServingReason.Minority);
    }

    [Fact]
    public void Only_up_and_leaving_members_count_but_every_unreachable_member_is_downed()
    {
        // 1, 2 Up; 3 Leaving; 4, 5 Joining; 6 Exiting. Counted: 1, 2, 3.
        var state = SeenByAll(UpCluster(1, 2, 3, 6)
            .Leave(Id(1), Id(3)).Leave(Id(1), Id(6)).MarkExiting(Id(1), Id(6))
            .Join(Id(1), Joining(4), MaxMembers).Join(Id(1), Joining(5), MaxMembers));
        AssertDowns(Decide(state, 1, [3, 4, 5, 6]), 3, 4, 5, 6); // {1, 2} is 2 of 3
        AssertStops(Decide(state, 3, [1, 2]), StopServingReason.Minority); // {3, 4, 5, 6} is 1 of 3
        AssertStops(Decide(state, 4, [1, 2]), StopServingReason.Minority);
    }

    [Fact]
    public void A_cluster_without_full_members_downs_nobody()
    {
        var state = MembershipState.Empty.Join(Id(1), Joining(1), MaxMembers).Join(Id(1), Joining(2), MaxMembers);
        Assert.IsType<DowningDecision.Stable>(Decide(state, 1, [2]));
    }

    [Fact]
    public void A_node_that_is_down_in_its_own_state_stops()
    {
        var state = UpCluster(1, 2, 3).Down(Id(1), Id(3));
        AssertStops(Decide(state, 3, [1, 2]), StopServingReason.SelfDown);
    }

    [Fact]
    public void Unreachable_since_keeps_the_first_time_and_forgets_recovered_members()
    {
        var state = UpCluster(1, 2, 3, 4).MarkUnreachable(Id(2), Id(3)).MarkUnreachable(Id(2), Id(4)).MarkUnreachable(Id(3), Id(1));
        var first = DowningDecider.TrackUnreachable(ImmutableSortedDictionary<NodeId, long>.Empty, state, Id(1), 500);
        Assert.Equal(new Dictionary<NodeId, long> { [Id(3)] = 500, [Id(4)] = 500 }, first); // self (suspected by 3) is not tracked

        var later = state.MarkReachable(Id(2), Id(3)).MarkUnreachable(Id(4), Id(2));
        var second = DowningDecider.TrackUnreachable(first, later, Id(1), 900);
        Assert.Equal(new Dictionary<NodeId, long> { [Id(2)] = 900, [Id(4)] = 500 }, second);
    }

    /// <summary>A clean partition: which side each of n nodes is on.</summary>
    public sealed record Partition(int[] Sides)
    {
        public override string ToString() => $"sides [{string.Join(",", Sides)}]";
    }

    [Fact]
    public void In_a_clean_partition_at_most_one_side_downs_the_others_and_a_majority_side_always_does()
    {
        var partitions = (
            from n in Gen.Choose(3, 9)
            from sides in Gen.Choose(1, 3).ArrayOf(n)
            select new Partition(sides)).ToArbitrary();
        Prop.ForAll(partitions, p =>
        {
            var n = p.Sides.Length;
            var nodes = Enumerable.Range(1, n).ToArray();
            var state = UpCluster(nodes);
            var downers = new HashSet<int>();
            foreach (var self in nodes)
            {
                var side = p.Sides[self - 1];
                var others = nodes.Where(x => p.Sides[x - 1] != side).ToArray();
                var decision = Decide(state, self, others);
                var mySide = nodes.Length - others.Length;
                var wins = 2 * mySide > n || (2 * mySide == n && p.Sides[0] == side);
                if (others.Length == 0)
                {
                    Assert.IsType<DowningDecision.Stable>(decision);
                }
                else if (wins)
                {
                    AssertDowns(decision, others); // exactly the other sides, never a member of its own
                    downers.Add(side);
                }
                else
                {
                    Assert.IsType<DowningDecision.StopServing>(decision);
                }
            }
            Assert.True(downers.Count <= 1, $"{p}: sides {string.Join(",", downers)} all down the others");
        }).QuickCheckThrowOnFailure();
    }
}
