using Memo.Node.Cluster;
using Xunit.Abstractions;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

/// <summary>
/// End-to-end runs of the pure cores (membership, gossip, failure detection, downing, placement) in a seeded,
/// single-threaded simulation (<see cref="SimulatedCluster"/>). Each run prints its seed; a failure prints the seed,
/// the phase and every node's state.
/// </summary>
public sealed class ClusterSimulationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan EvictionDelay = TimeSpan.FromSeconds(10);

    private static Dictionary<int, MemberStatus> All(MemberStatus status, params int[] nodes) => nodes.ToDictionary(n => n, _ => status);

    private SimulatedCluster FormCluster(ulong seed, int size)
    {
        output.WriteLine($"seed {seed}");
        var cluster = new SimulatedCluster(seed, EvictionDelay);
        for (var n = 1; n <= size; n++)
        {
            cluster.Start(n);
        }
        var nodes = Enumerable.Range(1, size).ToArray();
        var rounds = cluster.RunUntil("all up", () => cluster.AgreeOn(All(MemberStatus.Up, nodes)));
        output.WriteLine($"{size} nodes up and converged after {rounds} rounds");
        return cluster;
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Nodes_joining_through_a_seed_all_come_up_with_one_view_and_one_placement(ulong seed)
    {
        var cluster = FormCluster(seed, 7);
        var placements = cluster.Running.Select(n => RingPlacement.Compute(Ring.FromState(n.State), 64, 3)).ToList();
        Assert.All(placements, p => Assert.Equal(placements[0].Replicas.ToArray(), p.Replicas.ToArray()));
        Assert.Equal(7, placements[0].Ring.NodeCount);
        Assert.All(cluster.Running, n => Assert.Equal(Id(1), n.State.Leader));
        var upNumbers = cluster.Nodes[Id(1)].State.Members.Values.Select(m => m.UpNumber).ToList();
        Assert.Equal(upNumbers.Count, upNumbers.Distinct().Count());
    }

    [Theory]
    [InlineData(4UL)]
    [InlineData(5UL)]
    public void A_leaving_node_goes_through_exiting_to_removed_and_leaves_the_ring(ulong seed)
    {
        var cluster = FormCluster(seed, 5);
        cluster.Leave(3);
        var expected = All(MemberStatus.Up, 1, 2, 4, 5);
        expected[3] = MemberStatus.Removed;
        cluster.RunUntil("node 3 removed", () => cluster.AgreeOn(expected));
        Assert.DoesNotContain(Id(3), Ring.FromState(cluster.Nodes[Id(1)].State).Nodes);
    }

    [Theory]
    [InlineData(6UL)]
    [InlineData(7UL)]
    public void A_crashed_node_is_suspected_downed_after_the_eviction_delay_and_removed(ulong seed)
    {
        var cluster = FormCluster(seed, 5);
        cluster.Crash(4);
        var crashedAt = cluster.Now;
        cluster.RunUntil("node 4 suspected", () => cluster.Running.All(n => !n.State.IsReachable(Id(4))));
        var downedAfter = cluster.RunUntil("node 4 down", () => cluster.Running.Any(n => n.State.StatusOf(Id(4)) == MemberStatus.Down));
        Assert.True(cluster.Now - crashedAt >= EvictionDelay.TotalMilliseconds, $"downed after {cluster.Now - crashedAt}ms");
        var expected = All(MemberStatus.Up, 1, 2, 3, 5);
        expected[4] = MemberStatus.Removed;
        cluster.RunUntil("node 4 removed", () => cluster.AgreeOn(expected));
        output.WriteLine($"down {downedAfter} rounds after suspicion; removed at {cluster.Now}ms");
    }

    [Theory]
    [InlineData(8UL)]
    [InlineData(9UL)]
    [InlineData(10UL)]
    public void In_a_partition_the_majority_downs_the_minority_which_stops(ulong seed)
    {
        var cluster = FormCluster(seed, 5);
        cluster.Partition([1, 2], [3, 4, 5]);
        var expected = All(MemberStatus.Up, 3, 4, 5);
        expected[1] = MemberStatus.Removed;
        expected[2] = MemberStatus.Removed;
        cluster.RunUntil("minority removed by the majority", () => cluster.Running.Count() == 3 && cluster.AgreeOn(expected));
        Assert.All(new[] { 1, 2 }, n =>
            Assert.Equal(StopServingReason.Minority, Assert.IsType<DowningDecision.StopServing>(cluster.Nodes[Id(n)].LastDecision).Reason));
        // The minority never downed anyone: its own states still hold 3, 4 and 5 live.
        Assert.All(new[] { 1, 2 }, n => Assert.All(new[] { 3, 4, 5 }, m => Assert.True(cluster.Nodes[Id(n)].State.StatusOf(Id(m))!.Value.IsLive())));
    }

    [Theory]
    [InlineData(11UL)]
    [InlineData(12UL)]
    public void In_an_even_split_the_half_with_the_lowest_node_id_survives(ulong seed)
    {
        var cluster = FormCluster(seed, 4);
        cluster.Partition([2, 3], [1, 4]);
        var expected = All(MemberStatus.Up, 1, 4);
        expected[2] = MemberStatus.Removed;
        expected[3] = MemberStatus.Removed;
        cluster.RunUntil("half without node 1 removed", () => cluster.Running.Count() == 2 && cluster.AgreeOn(expected));
        Assert.All(new[] { 2, 3 }, n =>
            Assert.Equal(StopServingReason.LosingHalf, Assert.IsType<DowningDecision.StopServing>(cluster.Nodes[Id(n)].LastDecision).Reason));
    }

    [Fact]
    public void In_any_two_way_partition_of_five_nodes_exactly_the_winning_side_survives()
    {
        for (var seed = 100UL; seed < 130; seed++)
        {
            var cluster = FormCluster(seed, 5);
            var random = new DeterministicRandom(seed);
            var mask = 1 + random.Next(30); // a non-empty proper subset of {1..5}
            var a = Enumerable.Range(1, 5).Where(n => (mask & (1 << (n - 1))) != 0).ToArray();
            var b = Enumerable.Range(1, 5).Except(a).ToArray();
            var (winners, losers) = a.Length > b.Length ? (a, b) : (b, a);
            output.WriteLine($"partition {{{string.Join(",", winners)}}} | {{{string.Join(",", losers)}}}");
            cluster.Partition(a, b);

            var expected = All(MemberStatus.Up, winners);
            foreach (var n in losers)
            {
                expected[n] = MemberStatus.Removed;
            }
            cluster.RunUntil($"{{{string.Join(",", losers)}}} removed", () =>
                cluster.Running.Select(n => (int)n.Id.Value).Order().SequenceEqual(winners.Order()) && cluster.AgreeOn(expected));
            Assert.All(losers, n => Assert.IsType<DowningDecision.StopServing>(cluster.Nodes[Id(n)].LastDecision));
        }
    }
}
