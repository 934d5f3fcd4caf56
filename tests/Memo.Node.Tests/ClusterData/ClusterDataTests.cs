using Memo.Node.Transport;
using System.Text;
using Memo.Node.Cluster;
using Memo.Node.Hosting;
using Memo.Protocol.Client;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// The data path across real in-process nodes: every mutation through its shard's Raft group, requests routed to the
/// leader from any node, groups reconciled with the ring as nodes join, stop and die. Phases with bounded waits.
/// </summary>
public sealed class ClusterDataTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(45);

    // Faster Raft ticks than the default so elections and catch-up fit in test phases.
    private static readonly string[] FastRaft = ["memo.raft.tick-interval = 20ms"];

    internal static byte[] V(string s) => Encoding.UTF8.GetBytes(s);

    internal static MemoClient ClientOf(InProcessCluster.Slot slot) => new(slot.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });

    [Fact]
    public async Task Three_nodes_write_through_node_1_and_read_everything_back_through_node_3()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, FastRaft);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        await WaitAsync(cluster, _ => GroupsPlacedOnRing(cluster, 3), "every placed node hosts its replica; each group's one leader has the ring's voters");

        using var writer = ClientOf(cluster.Nodes[0]);
        for (var i = 0; i < 300; i++)
        {
            await writer.UpsertAsync($"k/{i:D4}", V($"value {i}"));
        }
        using var reader = ClientOf(cluster.Nodes[2]);
        for (var i = 0; i < 300; i++)
        {
            Assert.Equal($"value {i}", Encoding.UTF8.GetString(await reader.FetchAsync($"k/{i:D4}") ?? V("<missing>")));
        }
        var listed = new List<string>();
        await foreach (var key in reader.ListAllAsync("k/", 70))
        {
            listed.Add(key);
        }
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"k/{i:D4}"), listed);
        await WaitAsync(cluster, _ => GroupsPlacedOnRing(cluster, 3), "every placed node hosts its replica; each group's one leader has the ring's voters");

        // The Raft traffic went over the default peer transport, TCP.
        AssertRaftWentOver(cluster, "tcp");
    }

    [Fact]
    public async Task A_stopped_node_does_not_stop_reads_and_writes_and_catches_up_after_restart()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, [.. FastRaft, "memo.network.eviction-delay = 1h"]);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        using (var first = ClientOf(cluster.Nodes[0]))
        {
            for (var i = 0; i < 20; i++)
            {
                await first.UpsertAsync($"before/{i}", V($"b{i}"));
            }
        }

        await cluster.StopAsync(2);
        using (var writer = ClientOf(cluster.Nodes[0]))
        using (var reader = ClientOf(cluster.Nodes[1]))
        {
            for (var i = 0; i < 100; i++)
            {
                await writer.UpsertAsync($"after/{i}", V($"a{i}"));
            }
            for (var i = 0; i < 100; i++)
            {
                Assert.Equal($"a{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"after/{i}") ?? V("<missing>")));
            }
            Assert.Equal($"b7", Encoding.UTF8.GetString(await reader.FetchAsync("before/7") ?? V("<missing>")));
        }

        await cluster.RestartAsync(2);
        var restarted = cluster.Nodes[2].Running;
        await WaitForAsync(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                if (await restarted.Shards.Silo.ReadEntryAsync($"after/{i}") is null)
                {
                    return false;
                }
            }
            return true;
        }, cluster, "the restarted node's silo holds the 100 writes made while it was stopped");
        using var third = ClientOf(cluster.Nodes[2]);
        Assert.Equal("a99", Encoding.UTF8.GetString(await third.FetchAsync("after/99") ?? V("<missing>")));
    }

    [Fact]
    public async Task Growing_from_3_to_4_nodes_under_writes_moves_groups_to_the_ring_and_loses_nothing()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, FastRaft);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");

        var acknowledged = new List<int>();
        var failures = 0;
        using var stop = new CancellationTokenSource();
        var writing = Task.Run(async () =>
        {
            using var client = ClientOf(cluster.Nodes[0]);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await client.UpsertAsync($"grow/{i:D5}", V($"g{i}"));
                    acknowledged.Add(i);
                }
                catch (Memo.Protocol.Grpc.GrpcException e)
                {
                    failures++;
                    output.WriteLine($"write {i} failed: {e.Message}");
                }
            }
        });

        await cluster.AddNodeAsync(overrides: FastRaft); // same Raft timing as the others (leases assume it)
        await WaitAsync(cluster, n => n.Count == 4 && n.All(s => s.View.Membership.MembersIn(MemberStatus.Up).Count() == 4), "4 nodes Up");
        await WaitAsync(cluster, n => GroupsMatchRing(n, 4, 3), "every shard's group = its 3 ring replicas on 4 nodes");
        await WaitAsync(cluster, n => n.All(HostsExactlyItsPlacement), "replicas of groups that removed a node retired on that node");
        await stop.CancelAsync();
        await writing;
        output.WriteLine($"{acknowledged.Count} writes acknowledged, {failures} failed during the move");
        Assert.True(acknowledged.Count > 0, "no write was acknowledged while the cluster grew");
        await WaitAsync(cluster, _ => GroupsPlacedOnRing(cluster, 3), "every placed node hosts its replica; each group's one leader has the ring's voters");

        using var reader = ClientOf(cluster.Nodes[3]);
        foreach (var i in acknowledged)
        {
            Assert.Equal($"g{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"grow/{i:D5}") ?? V("<missing>")));
        }
    }

    [Fact]
    public async Task Killing_one_of_4_nodes_brings_every_shard_back_to_3_voters_after_the_eviction_delay()
    {
        await using var cluster = await InProcessCluster.StartAsync(4, FastRaft);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 4, 3), "every shard's group = its 3 ring replicas on 4 nodes");
        using (var client = ClientOf(cluster.Nodes[0]))
        {
            for (var i = 0; i < 40; i++)
            {
                await client.UpsertAsync($"kill/{i}", V($"v{i}"));
            }
        }

        var victim = cluster.Nodes[3].View.Self;
        await cluster.KillAsync(3);
        await WaitAsync(cluster, n => n.All(s => s.View.Membership.StatusOf(victim) is null or MemberStatus.Down or MemberStatus.Removed), "the killed node downed");
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard back to 3 voters on the survivors");
        await WaitAsync(cluster, _ => GroupsPlacedOnRing(cluster, 3), "every placed node hosts its replica; each group's one leader has the ring's voters");
        using var reader = ClientOf(cluster.Nodes[1]);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal($"v{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"kill/{i}") ?? V("<missing>")));
        }
    }

    [Fact]
    public async Task A_leaving_node_hands_its_groups_off_before_it_is_removed()
    {
        await using var cluster = await InProcessCluster.StartAsync(4, [.. FastRaft, "memo.network.eviction-delay = 1h"]);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 4, 3), "every shard's group = its 3 ring replicas on 4 nodes");
        using (var client = ClientOf(cluster.Nodes[0]))
        {
            for (var i = 0; i < 40; i++)
            {
                await client.UpsertAsync($"leave/{i}", V($"v{i}"));
            }
        }

        var leaving = cluster.Nodes[3].View.Self;
        var survivors = cluster.Nodes.Take(3).ToList();
        var node = cluster.Nodes[3].Running;
        await node.Cluster.LeaveAsync(null, CancellationToken.None);
        // Akka moves a leaving member to Exiting at once; it is removed only after its coordinated shutdown, which waits
        // until no group counts the node.
        await WaitAsync(cluster, _ => survivors.All(s => s.View.Membership.StatusOf(leaving) is null or MemberStatus.Removed),
            "the leaving node removed from the survivors' views");
        Assert.Equal(Memo.Node.Hosting.MemoNodeExit.Left, await node.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
        foreach (var slot in survivors)
        {
            foreach (var replica in slot.Running.Shards.Replicas.Where(r => r.Status.IsLeader))
            {
                Assert.False(replica.Status.Membership.Contains(leaving), $"shard {replica.Shard} still counts the leaving node: {replica.Status}");
            }
        }
        await WaitAsync(cluster, _ => GroupsMatchRing(survivors, 3, 3), "every shard's group = its 3 ring replicas on the 3 survivors");
        using var reader = ClientOf(cluster.Nodes[1]);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal($"v{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"leave/{i}") ?? V("<missing>")));
        }
    }

    [Fact]
    public async Task A_member_asked_to_join_another_cluster_refuses_and_keeps_serving_its_own()
    {
        // Akka.Cluster cannot move a member to another cluster; the node says how to do it instead.
        await using var first = await InProcessCluster.StartAsync(1, FastRaft);
        await using var second = await InProcessCluster.StartAsync(1, FastRaft);
        var a = first.Nodes[0];
        var b = second.Nodes[0];
        using (var alone = ClientOf(b))
        {
            await alone.UpsertAsync("mine", V("x"));
        }

        var result = await b.Running.Cluster.JoinAsync(a.RemoteAddress, CancellationToken.None);
        Assert.Equal(Memo.Node.Cluster.Runtime.ClusterCommandStatus.Refused, result.Status);
        Assert.Contains("empty data folder", result.Message, StringComparison.Ordinal);
        Assert.Single(b.View.Membership.Members);
        using var viaB = ClientOf(b);
        Assert.Equal("x", Encoding.UTF8.GetString(await viaB.FetchAsync("mine") ?? V("<missing>")));
    }

    private static bool HostsExactlyItsPlacement(InProcessCluster.Slot slot) =>
        slot.Running.Shards.Replicas.Select(r => r.Shard).Order().SequenceEqual(slot.View.ShardsOf(slot.View.Self).Order());

    // Every running node sees the same placement over `members` Up nodes, and every shard has a leader among the running
    // nodes whose configuration is exactly the ring's replica set (`voters` voters, no learners).
    internal static bool GroupsMatchRing(IReadOnlyList<InProcessCluster.Slot> nodes, int members, int voters)
    {
        if (nodes.Count != members || nodes.Any(n => n.View.Membership.MembersIn(MemberStatus.Up).Count() != members))
        {
            return false;
        }
        var view = nodes[0].View;
        for (var s = 0; s < view.Network.ShardCount; s++)
        {
            var shard = new ShardId(s);
            var ring = view.ReplicasOf(shard).Nodes.Order().ToList();
            if (ring.Count != voters || nodes.Any(n => !n.View.ReplicasOf(shard).Nodes.Order().SequenceEqual(ring)))
            {
                return false;
            }
            var leaders = nodes.Select(n => n.Running.Shards.TryGetReplica(shard, out var r) ? r.Status : null)
                .Where(st => st is { IsLeader: true }).ToList();
            if (leaders.Count != 1 || !leaders[0]!.Membership.Voters.SequenceEqual(ring) || !leaders[0]!.Membership.Learners.IsEmpty)
            {
                return false;
            }
        }
        return true;
    }

    // Every shard's ring replica set has `voters` nodes, its one leader's voters are exactly those, and every placed
    // node hosts a replica. Leadership may be moving (preferred leaders), so callers wait for it rather than assert once.
    internal static bool GroupsPlacedOnRing(InProcessCluster cluster, int voters)
    {
        var view = cluster.Running.First().View;
        for (var s = 0; s < view.Network.ShardCount; s++)
        {
            var shard = new ShardId(s);
            var ring = view.ReplicasOf(shard).Nodes.Order().ToList();
            var leaders = cluster.Running.Select(n => n.Running.Shards.TryGetReplica(shard, out var r) ? r.Status : null)
                .Where(st => st is { IsLeader: true }).ToList();
            if (ring.Count != voters || leaders.Count != 1 || !leaders[0]!.Membership.Voters.SequenceEqual(ring))
            {
                return false;
            }
            foreach (var node in ring)
            {
                if (cluster.Running.SingleOrDefault(n => n.View.Self == node) is not { } slot || !slot.Running.Shards.TryGetReplica(shard, out _))
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>Every member advertises its remoting endpoint (<c>remote=</c>) and, on <c>tcp</c>, its peer endpoint
    /// (<c>peer=</c>); the Raft links that carried traffic both ways (at least one per node: it shares a group with a
    /// leader or leads one) go to the other members' endpoints of <paramref name="transport"/>.</summary>
    internal static void AssertRaftWentOver(InProcessCluster cluster, string transport)
    {
        var overTcp = transport == "tcp";
        foreach (var slot in cluster.Nodes)
        {
            var node = slot.Running;
            Assert.True(overTcp ? node.PeerLinks is TcpPeerTransport : node.PeerLinks is AkkaPeerTransport, $"node {slot.Index} links over {node.PeerLinks.GetType().Name}, not {transport}");
            Assert.All(node.Cluster.View.Membership.MembersIn(MemberStatus.Up), m =>
            {
                var member = cluster.Nodes.Single(s => s.Running.NodeId == m.Id).Running;
                Assert.Equal(member.RemoteAddress, RemoteRoleAddressing.RemoteAddressIn(m.Roles));
                Assert.Equal(overTcp ? member.PeerAddress : null, RemoteRoleAddressing.AddressIn(m.Roles, RemoteRoleAddressing.PeerPrefix));
            });
            // (A message or two may go unaddressed while a joiner's record has not reached this node yet.)
            Assert.IsType<RemoteRoleAddressing>(node.PeerTransport);
            var links = node.PeerTransport.GetLinkStats().Where(l => l.Sent > 0 && l.Received > 0).ToList();
            Assert.NotEmpty(links);
            var others = cluster.Nodes.Where(s => s != slot).Select(s => overTcp ? s.Running.PeerAddress : s.Running.RemoteAddress);
            Assert.All(links, l => Assert.Contains(l.Address, others));
        }
    }

    internal static Task WaitAsync(InProcessCluster cluster, Func<IReadOnlyList<InProcessCluster.Slot>, bool> predicate, string phase) =>
        WaitForAsync(() => Task.FromResult(predicate(cluster.Running.ToList())), cluster, phase);

    // Polls a condition with a bound; on timeout fails with the phase, every node's view and every replica's status.
    internal static async Task WaitForAsync(Func<Task<bool>> condition, InProcessCluster cluster, string phase)
    {
        var deadline = DateTime.UtcNow + Phase;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"phase '{phase}' not reached within {Phase}.\n{Describe(cluster)}");
            }
            // Polling pause, not synchronisation: the condition is re-checked each time.
            await Task.Delay(25);
        }
    }

    private static string Describe(InProcessCluster cluster)
    {
        var text = new StringBuilder(cluster.Describe());
        foreach (var slot in cluster.Running)
        {
            foreach (var replica in slot.Running.Shards.Replicas.OrderBy(r => r.Shard))
            {
                text.Append("  node ").Append(slot.Index).Append(": ").AppendLine(replica.Status.ToString());
            }
        }
        return text.ToString();
    }
}
