using System.Collections.Concurrent;
using System.Text;
using Memo.Node.Cluster;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// 3 → 5 → 3 nodes under a continuous writer: every shard's voters follow the ring both ways, the two added nodes
/// leave gracefully, and every acknowledged write reads back through each remaining node.
/// </summary>
public sealed class GrowShrinkTests(ITestOutputHelper output)
{
    private static readonly string[] FastRaft = ["memo.raft.tick-interval = 20ms"];

    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(30);

    private static byte[] V(string s) => Encoding.UTF8.GetBytes(s);

    private static MemoClient ClientOf(InProcessCluster.Slot slot) => new(slot.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task Growing_3_to_5_and_leaving_back_to_3_under_writes_keeps_groups_on_the_ring_and_loses_nothing()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, FastRaft);
        await cluster.WaitUntilAsync(n => GroupsMatchRing(n, 3), "every shard's voters = its 3 ring replicas on 3 nodes", Phase);

        var acknowledged = new ConcurrentQueue<int>();
        var failures = 0;
        using var stop = new CancellationTokenSource();
        var writing = Task.Run(async () =>
        {
            using var client = ClientOf(cluster.Nodes[0]);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await client.UpsertAsync($"gs/{i:D6}", V($"v{i}"));
                    acknowledged.Enqueue(i);
                }
                catch (GrpcException e)
                {
                    // Not acknowledged: may or may not be stored, so it is not checked.
                    failures++;
                    output.WriteLine($"write {i} failed: {e.Message}");
                }
            }
        });

        // The same Raft timing as the first three: a group's leases assume every member times elections alike.
        await cluster.AddNodeAsync(overrides: FastRaft);
        await cluster.AddNodeAsync(overrides: FastRaft);
        await cluster.WaitUntilAsync(n => GroupsMatchRing(n, 5), "every shard's voters = its 3 ring replicas on 5 nodes", Phase);
        var atFive = acknowledged.Count;
        Assert.True(atFive > 0, "no write was acknowledged while the cluster grew");

        var leaving = new[] { cluster.Nodes[3].View.Self, cluster.Nodes[4].View.Self };
        var survivors = cluster.Nodes.Take(3).ToList();
        await using (var admin = TestAdmin.Connect(cluster.Nodes[0].RemoteAddress, network: cluster.Network))
        {
            // One leave asked of another member's admin actor, one through the leaving node itself.
            Assert.Equal(leaving[0].ToString(), await admin.LeaveAsync(cluster.Nodes[3].Address));
        }
        await cluster.Nodes[4].Running.Cluster.LeaveAsync(null, CancellationToken.None);
        await cluster.WaitUntilAsync(_ => survivors.All(s => leaving.All(l => s.View.Membership.StatusOf(l) is null or MemberStatus.Removed)),
            "both added nodes Removed on every survivor", Phase);
        await cluster.WaitUntilAsync(_ => GroupsMatchRing(survivors, 3), "every shard's voters = its 3 ring replicas on the 3 survivors", Phase);

        await stop.CancelAsync();
        await writing.WaitAsync(Phase);
        output.WriteLine($"{acknowledged.Count} writes acknowledged ({atFive} by the time 5 nodes were placed), {failures} failed");
        Assert.True(acknowledged.Count > atFive, "no write was acknowledged while the cluster shrank");
        AssertGroupsOnRing(survivors);

        foreach (var slot in survivors)
        {
            using var reader = ClientOf(slot);
            var missing = new ConcurrentBag<int>();
            await Parallel.ForEachAsync(acknowledged, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                var value = await reader.FetchAsync($"gs/{i:D6}", ct);
                if (value is null || Encoding.UTF8.GetString(value) != $"v{i}")
                {
                    missing.Add(i);
                }
            });
            Assert.True(missing.IsEmpty, $"node {slot.Index}: {missing.Count} acknowledged writes missing, e.g. {string.Join(", ", missing.Order().Take(10))}");
        }
    }

    // Every node in `nodes` is running and sees exactly them Up, and every shard has exactly one leader among them whose
    // configuration is the ring's replica set (RF voters, no learners), with a replica on each node the ring names.
    private static bool GroupsMatchRing(IReadOnlyList<InProcessCluster.Slot> nodes, int members)
    {
        if (nodes.Count != members || nodes.Any(n => n.Node is null))
        {
            return false;
        }
        var ids = nodes.Select(n => n.View.Self).Order().ToList();
        if (nodes.Any(n => !n.View.Membership.MembersIn(MemberStatus.Up).Select(m => m.Id).Order().SequenceEqual(ids)))
        {
            return false;
        }
        var view = nodes[0].View;
        for (var s = 0; s < view.Network.ShardCount; s++)
        {
            var shard = new ShardId(s);
            var ring = view.ReplicasOf(shard).Nodes.Order().ToList();
            if (ring.Count != 3 || nodes.Any(n => !n.View.ReplicasOf(shard).Nodes.Order().SequenceEqual(ring)))
            {
                return false;
            }
            var leaders = nodes.Select(n => n.Running.Shards.TryGetReplica(shard, out var r) ? r.Status : null)
                .Where(st => st is { IsLeader: true }).ToList();
            if (leaders.Count != 1 || !leaders[0]!.Membership.Voters.SequenceEqual(ring) || !leaders[0]!.Membership.Learners.IsEmpty)
            {
                return false;
            }
            if (ring.Any(id => !nodes.Single(n => n.View.Self == id).Running.Shards.TryGetReplica(shard, out _)))
            {
                return false;
            }
        }
        return true;
    }

    private static void AssertGroupsOnRing(IReadOnlyList<InProcessCluster.Slot> nodes)
    {
        var view = nodes[0].View;
        for (var s = 0; s < view.Network.ShardCount; s++)
        {
            var shard = new ShardId(s);
            var ring = view.ReplicasOf(shard).Nodes.Order().ToList();
            Assert.Equal(nodes.Select(n => n.View.Self).Order(), ring);
            var leader = nodes.Select(n => n.Running.Shards.TryGetReplica(shard, out var r) ? r.Status : null).Single(st => st is { IsLeader: true })!;
            Assert.Equal(ring, leader.Membership.Voters);
            Assert.True(leader.Membership.Learners.IsEmpty, $"shard {shard} still has learners: {leader}");
        }
    }
}
