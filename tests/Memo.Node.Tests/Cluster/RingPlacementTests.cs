using Memo.Node.Cluster;
using Xunit.Abstractions;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

public sealed class RingPlacementTests(ITestOutputHelper output)
{
    private const int Shards = 64;

    private static Member Up(int n, ulong seed = 0, int tokens = VirtualNodes) =>
        Member.Create(Id(n), AddressOf(n), MemberStatus.Up, n, Joining(n, seed, tokens).Tokens, []);

    private static Member UpWith(int n, params ulong[] tokens) => Member.Create(Id(n), AddressOf(n), MemberStatus.Up, n, tokens, []);

    private static RingPlacement Place(IEnumerable<Member> members, int replicationFactor = 3) =>
        RingPlacement.Compute(Ring.FromMembers(members), Shards, replicationFactor);

    [Fact]
    public void A_shard_starts_where_its_leading_address_bits_start()
    {
        Assert.Equal(0UL, Ring.PositionOf(new ShardId(0), 64));
        Assert.Equal(1UL << 58, Ring.PositionOf(new ShardId(1), 64));
        Assert.Equal(63UL << 58, Ring.PositionOf(new ShardId(63), 64));
        Assert.Equal(0UL, Ring.PositionOf(new ShardId(0), 1));
        Assert.Equal(1UL << 63, Ring.PositionOf(new ShardId(1), 2));
        Assert.Equal(65535UL << 48, Ring.PositionOf(new ShardId(65535), 65536));
        // Same rule as routing: shard = prefix >> (64 - bits), so the shard's range starts at its position.
        var random = new DeterministicRandom(5);
        for (var i = 0; i < 1000; i++)
        {
            var prefix = random.NextUInt64();
            var shard = new ShardId((int)(prefix >> 58));
            Assert.InRange(prefix, Ring.PositionOf(shard, 64), Ring.PositionOf(shard, 64) + ((1UL << 58) - 1));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Ring.PositionOf(new ShardId(0), 48));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ring.PositionOf(new ShardId(64), 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ring.PositionOf(new ShardId(0), 0));
    }

    [Fact]
    public void The_walk_takes_the_first_distinct_nodes_clockwise_and_wraps()
    {
        var ring = Ring.FromMembers([UpWith(1, 10UL, 100UL), UpWith(2, 20UL), UpWith(3, 30UL, 5UL)]);
        Assert.Equal([Id(1), Id(2), Id(3)], ring.ReplicasAt(10, 3).Nodes.ToArray()); // a token equal to the position counts
        Assert.Equal([Id(2), Id(3), Id(1)], ring.ReplicasAt(11, 3).Nodes.ToArray());
        Assert.Equal([Id(3), Id(1)], ring.ReplicasAt(25, 2).Nodes.ToArray());
        Assert.Equal([Id(3), Id(1), Id(2)], ring.ReplicasAt(101, 3).Nodes.ToArray()); // past the last token: wrap to 5
        Assert.Equal(Id(3), ring.ReplicasAt(101, 3).Preferred);
    }

    [Fact]
    public void Equal_tokens_of_two_nodes_are_ordered_by_node_id()
    {
        var ring = Ring.FromMembers([UpWith(2, 50UL), UpWith(1, 50UL)]);
        Assert.Equal([Id(1), Id(2)], ring.ReplicasAt(50, 2).Nodes.ToArray());
    }

    [Fact]
    public void Only_up_members_are_on_the_ring()
    {
        var members = new[]
        {
            WithStatus(1, MemberStatus.Up), WithStatus(2, MemberStatus.Leaving), WithStatus(3, MemberStatus.Down),
            WithStatus(4, MemberStatus.Up), WithStatus(5, MemberStatus.Joining), WithStatus(6, MemberStatus.Exiting),
            WithStatus(7, MemberStatus.Removed),
        };
        var ring = Ring.FromMembers(members);
        Assert.Equal([Id(1), Id(4)], ring.Nodes.ToArray());
        Assert.Equal(2 * VirtualNodes, ring.Entries.Length);
    }

    [Fact]
    public void The_placement_does_not_depend_on_the_order_of_members()
    {
        var members = Enumerable.Range(1, 7).Select(n => Up(n)).ToList();
        var expected = Place(members);
        var random = new DeterministicRandom(11);
        for (var i = 0; i < 20; i++)
        {
            var shuffled = members.OrderBy(_ => random.NextUInt64()).ToList();
            Assert.Equal(expected.Replicas.ToArray(), Place(shuffled).Replicas.ToArray());
        }
    }

    [Fact]
    public void The_walk_matches_a_naive_closest_token_model()
    {
        // Differential test: a node's rank is the clockwise distance from the shard start to its nearest token.
        for (var seed = 0UL; seed < 50; seed++)
        {
            var members = Enumerable.Range(1, 2 + (int)(seed % 9)).Select(n => Up(n, seed)).ToList();
            foreach (var r in new[] { 1, 3, 5 })
            {
                var placement = Place(members, r);
                for (var s = 0; s < Shards; s++)
                {
                    var position = Ring.PositionOf(new ShardId(s), Shards);
                    var naive = members
                        .Select(m => (m.Id, Distance: m.Tokens.Min(t => unchecked(t - position))))
                        .OrderBy(x => x.Distance).ThenBy(x => x.Id)
                        .Take(r).Select(x => x.Id);
                    Assert.Equal(naive.ToArray(), placement[new ShardId(s)].Nodes.ToArray());
                }
            }
        }
    }

    [Fact]
    public void Every_shard_gets_min_of_r_and_n_distinct_replicas_and_the_clamp_is_reported()
    {
        for (var n = 0; n <= 8; n++)
        {
            for (var r = 1; r <= 5; r++)
            {
                var placement = Place(Enumerable.Range(1, n).Select(i => Up(i, (ulong)(n * 10 + r))), r);
                Assert.Equal(Math.Min(r, n), placement.ReplicationFactor);
                Assert.Equal(r > n, placement.IsClamped);
                Assert.Equal(r, placement.RequestedReplicationFactor);
                Assert.All(placement.Replicas, set =>
                {
                    Assert.Equal(Math.Min(r, n), set.Count);
                    Assert.Equal(set.Count, set.Nodes.Distinct().Count());
                });
            }
        }
        Assert.Equal(ReplicaSet.Empty, Ring.Empty.ReplicasOf(new ShardId(3), Shards, 3));
    }

    [Fact]
    public void With_sixteen_virtual_nodes_no_node_holds_more_than_twice_its_fair_share()
    {
        // Measured over 500 seeds for R = 3: the worst node holds 1.31x (4 nodes) to 1.69x (12 nodes) its fair share
        // of R * 64 / n slots up to 16 nodes; beyond, 64 shards are too few slots per node (n = 32: 2.3x).
        var worst = 0.0;
        for (var seed = 0UL; seed < 200; seed++)
        {
            foreach (var n in new[] { 3, 4, 5, 6, 8, 10, 12, 16 })
            {
                var placement = Place(Enumerable.Range(1, n).Select(i => Up(i, seed)));
                var fair = 3.0 * Shards / n;
                var ratio = placement.Load().Values.Max() / fair;
                worst = Math.Max(worst, ratio);
                Assert.True(ratio <= 2.0, $"seed {seed}, {n} nodes: a node holds {ratio:F2}x its fair share");
                Assert.Equal(3 * Shards, placement.Load().Values.Sum());
            }
        }
        output.WriteLine($"worst load / fair share: {worst:F2}");
    }

    [Fact]
    public void A_join_only_adds_the_new_node_and_moves_about_r_times_shards_over_n_slots()
    {
        var totalMoved = 0.0;
        var totalExpected = 0.0;
        for (var seed = 0UL; seed < 100; seed++)
        {
            foreach (var n in new[] { 3, 4, 5, 7, 10 })
            {
                var members = Enumerable.Range(1, n).Select(i => Up(i, seed)).ToList();
                var joiner = Up(n + 1, seed);
                var before = Place(members);
                var after = Place(members.Append(joiner));
                var diff = PlacementDiff.Between(before, after);
                foreach (var change in diff.Changes)
                {
                    Assert.Equal([joiner.Id], change.Added.ToArray());
                    Assert.True(change.Removed.Length == 1, $"seed {seed}: shard {change.Shard} {change.Before} -> {change.After}");
                    // The rest keep their ring order: the joiner is inserted, the last one pushed out.
                    Assert.Equal(change.Before.Nodes.Where(x => x != change.Removed[0]).ToArray(), change.After.Nodes.Where(x => x != joiner.Id).ToArray());
                }
                var unchanged = Enumerable.Range(0, Shards).Select(s => new ShardId(s)).Where(s => !diff.Changes.Any(c => c.Shard == s));
                Assert.All(unchanged, s => Assert.False(after[s].Contains(joiner.Id)));
                Assert.Equal(after.ShardsOf(joiner.Id).ToArray(), diff.Changes.Select(c => c.Shard).ToArray());

                var expected = 3.0 * Shards / (n + 1);
                Assert.True(diff.AddedSlots <= 2 * expected, $"seed {seed}, {n} nodes: {diff.AddedSlots} slots moved, about {expected:F1} expected");
                totalMoved += diff.AddedSlots;
                totalExpected += expected;
            }
        }
        Assert.InRange(totalMoved / totalExpected, 0.9, 1.1);
        output.WriteLine($"moved / expected on join: {totalMoved / totalExpected:F3}");
    }

    [Fact]
    public void A_leave_only_removes_the_leaving_node_and_moves_about_r_times_shards_over_n_slots()
    {
        var totalMoved = 0.0;
        var totalExpected = 0.0;
        for (var seed = 0UL; seed < 100; seed++)
        {
            foreach (var n in new[] { 4, 5, 7, 10 })
            {
                var members = Enumerable.Range(1, n).Select(i => Up(i, seed)).ToList();
                var leaver = members[(int)(seed % (ulong)n)];
                var before = Place(members);
                var after = Place(members.Where(m => m != leaver));
                var diff = PlacementDiff.Between(before, after);
                foreach (var change in diff.Changes)
                {
                    Assert.Equal([leaver.Id], change.Removed.ToArray());
                    Assert.Single(change.Added);
                    Assert.Equal(change.Before.Nodes.Where(x => x != leaver.Id).ToArray(), change.After.Nodes.Where(x => x != change.Added[0]).ToArray());
                }
                Assert.Equal(before.ShardsOf(leaver.Id).ToArray(), diff.Changes.Select(c => c.Shard).ToArray());

                var expected = 3.0 * Shards / n;
                Assert.True(diff.RemovedSlots <= 2 * expected, $"seed {seed}, {n} nodes: {diff.RemovedSlots} slots moved, about {expected:F1} expected");
                totalMoved += diff.RemovedSlots;
                totalExpected += expected;
            }
        }
        Assert.InRange(totalMoved / totalExpected, 0.9, 1.1);
        output.WriteLine($"moved / expected on leave: {totalMoved / totalExpected:F3}");
    }

    [Fact]
    public void A_diff_reports_a_change_of_preferred_leader_alone()
    {
        var before = RingPlacement.Compute(Ring.FromMembers([UpWith(1, 10UL), UpWith(2, 20UL)]), 1, 2);
        var after = RingPlacement.Compute(Ring.FromMembers([UpWith(1, 30UL), UpWith(2, 20UL)]), 1, 2);
        var change = Assert.Single(PlacementDiff.Between(before, after).Changes);
        Assert.True(change.PreferredChanged);
        Assert.Empty(change.Added);
        Assert.Empty(change.Removed);
        Assert.True(PlacementDiff.Between(before, before).IsEmpty);
        Assert.Throws<ArgumentException>(() => PlacementDiff.Between(before, RingPlacement.Compute(Ring.Empty, 2, 2)));
    }

    [Fact]
    public void Replica_sets_reject_duplicates_and_none()
    {
        Assert.Throws<ArgumentException>(() => new ReplicaSet([Id(1), Id(1)]));
        Assert.Throws<ArgumentException>(() => new ReplicaSet([NodeId.None]));
        Assert.True(new ReplicaSet([Id(1), Id(2)]).SetEquals(new ReplicaSet([Id(2), Id(1)])));
        Assert.NotEqual(new ReplicaSet([Id(1), Id(2)]), new ReplicaSet([Id(2), Id(1)]));
    }
}
