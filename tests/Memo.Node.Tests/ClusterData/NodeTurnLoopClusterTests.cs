using System.Text;
using Memo.Node.Shards.Replicated;
using Memo.Testing;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// Three in-process nodes whose shard replicas' turns are run by each node's turn loop (<c>memo.shards.turn-loop =
/// node</c>): writes are replicated, a shard leader's kill is survived, and every acknowledged write is kept.
/// </summary>
public sealed class NodeTurnLoopClusterTests
{
    [Fact]
    public async Task Three_nodes_on_the_node_turn_loop_keep_every_acknowledged_write_through_a_leaders_kill()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, ["memo.raft.tick-interval = 20ms", "memo.network.eviction-delay = 1h", "memo.shards.turn-loop = node"]);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        await WaitAsync(cluster, _ => GroupsPlacedOnRing(cluster, 3), "every shard has one leader with the ring's voters");

        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            await Task.WhenAll(Enumerable.Range(0, 40).Select(i => writer.UpsertAsync($"before/{i:D2}", V($"b{i}"))));
        }
        // The turns did go through each node's loop.
        Assert.All(cluster.Nodes, s => Assert.True(NodeTurnLoop.Of(s.Running.Shards.Silo).Commits > 0, $"node {s.Index}'s turn loop committed nothing"));

        // Kill the node that leads shard 0; the other two elect new leaders and keep serving.
        var shard = new ShardId(0);
        var leader = cluster.Nodes.Single(s => s.Running.Shards.TryGetReplica(shard, out var r) && r.Status.IsLeader);
        await cluster.KillAsync(leader.Index);
        var survivors = cluster.Nodes.Where(s => s.Node is not null).ToList();

        using var survivorWriter = ClientOf(survivors[0]);
        for (var i = 0; i < 20; i++)
        {
            await TcpPeerClusterTests.UpsertUntilAcknowledgedAsync(survivorWriter, $"after/{i:D2}", V($"a{i}"));
        }
        using var reader = ClientOf(survivors[1]);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal($"b{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"before/{i:D2}") ?? V("<missing>")));
        }
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"a{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"after/{i:D2}") ?? V("<missing>")));
        }
    }
}
