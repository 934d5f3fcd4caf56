using Akka.Actor;
using Akka.Remote;
using Akka.Remote.Transport;
using Memo.Node.Cluster;
using Memo.Node.Hosting;
using Memo.Testing;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.ClusterRuntime;

/// <summary>
/// Membership on Akka.Cluster under restarts and partitions, with real in-process nodes over loopback: a stop is not a
/// leave (a rolling restart moves no shard group), and the split brain resolver downs the minority of a partition,
/// which stops, while the majority serves.
/// </summary>
public sealed class MembershipFaultTests
{
    private static readonly string[] FastRaft = ["memo.raft.tick-interval = 20ms"];

    [Fact]
    public async Task Restarting_every_node_one_at_a_time_moves_no_shard_group()
    {
        // A long eviction delay: only a leave or a downing may move groups, and a restart is neither. The default
        // ring-removal delay (30s) covers the moment Akka replaces a restarted node's old incarnation.
        await using var cluster = await InProcessCluster.StartAsync(3,
            [.. FastRaft, "memo.network.eviction-delay = 1h", "memo.shards.ring-removal-delay = 30s"]);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        var placement = Placement(cluster.Nodes[0]);
        var ids = cluster.Nodes.Select(n => n.View.Self).ToList();
        using (var client = ClientOf(cluster.Nodes[0]))
        {
            await client.UpsertAsync("before", V("b"));
        }

        // Every group's configuration is sampled throughout: a restart must never remove a voter or add a learner,
        // not even for a moment.
        var changes = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var slot in cluster.Running)
                {
                    foreach (var replica in slot.Node?.Shards.Replicas ?? [])
                    {
                        var status = replica.Status;
                        if (status.IsLeader && (status.Membership.Voters.Count() != 3 || status.Membership.Learners.Any()))
                        {
                            changes.Add(status.ToString());
                        }
                    }
                }
                await Task.Delay(20);
            }
        });

        for (var i = 0; i < 3; i++)
        {
            // StopAsync is what SIGTERM runs; node 1 (index 0) restarts with no seeds and must rejoin, not form alone.
            await cluster.StopAsync(i);
            await cluster.RestartAsync(i);
            await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), $"every shard's group = its 3 ring replicas after restarting node {i + 1}");
            Assert.Equal(ids[i], cluster.Nodes[i].View.Self);
            Assert.All(cluster.Nodes, n => Assert.Equal(placement, Placement(n)));
        }

        await stop.CancelAsync();
        await sampler;
        Assert.True(changes.IsEmpty, $"a group changed its configuration during the restarts: {changes.FirstOrDefault()}");
        Assert.All(cluster.Nodes, n => Assert.Equal(3, n.View.Membership.MembersIn(MemberStatus.Up).Count()));
        using var reader = ClientOf(cluster.Nodes[2]);
        Assert.Equal("b", System.Text.Encoding.UTF8.GetString(await reader.FetchAsync("before") ?? V("<missing>")));
    }

    [Fact]
    public async Task A_partitioned_minority_is_downed_and_stops_while_the_majority_serves()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, [.. FastRaft, "akka.remote.dot-netty.tcp.applied-adapters = [trttl]"]);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        var minority = cluster.Nodes[2].Running;
        var minorityId = minority.NodeId;

        // Akka.Remote's throttler blackholes node 3 from nodes 1 and 2 in both directions: a 2|1 partition.
        foreach (var slot in cluster.Nodes.Take(2))
        {
            Assert.True(await CutOff(slot.Running.ActorSystem, minority.ActorSystem));
        }

        // The minority's own resolver downs it (keep-majority) after the eviction delay; it stops and says why.
        Assert.Equal(MemoNodeExit.Downed, await minority.Exited.WaitAsync(TimeSpan.FromSeconds(60)));
        await WaitAsync(cluster, n => n.Where(s => s.Running != minority).All(s => s.View.Membership.StatusOf(minorityId) is null or MemberStatus.Down or MemberStatus.Removed),
            "the majority downed and removed the minority node");
        var majority = cluster.Nodes.Take(2).ToList();
        await WaitAsync(cluster, _ => GroupsMatchRing(majority, 2, 2), "every shard's group = the 2 majority nodes");
        using var client = ClientOf(cluster.Nodes[1]);
        await client.UpsertAsync("after-partition", V("a"));
        Assert.Equal("a", System.Text.Encoding.UTF8.GetString(await client.FetchAsync("after-partition") ?? V("<missing>")));
    }

    private static IReadOnlyList<string> Placement(InProcessCluster.Slot slot) =>
        slot.View.Placement.Replicas.Select(r => string.Join(",", r.Nodes)).ToList();

    private static Task<bool> CutOff(ActorSystem from, ActorSystem to)
    {
        var target = ((ExtendedActorSystem)to).Provider.DefaultAddress;
        var transport = ((RemoteActorRefProvider)((ExtendedActorSystem)from).Provider).Transport;
        return transport.ManagementCommand(new SetThrottle(new Address("akka", target.System, target.Host, target.Port),
            ThrottleTransportAdapter.Direction.Both, Blackhole.Instance));
    }
}
