using System.Text;
using Memo.Node.Cluster;
using Memo.Node.Shards.Replicated;
using Memo.Node.Transport;
using Memo.Testing;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// Three in-process nodes on each peer transport (<c>memo.peer.transport</c>) and, on <c>tcp</c>, on each turn runner
/// (<c>memo.shards.turn-loop</c>): on <c>tcp</c>, Raft and forwarded calls travel over each node's own TCP peer port
/// (advertised in the member role <c>peer=</c>); with <c>node</c>, every node's turn loop runs its replicas' turns; on
/// each, writes survive the kill of a shard's leader, and the killed node catches up once restarted.
/// </summary>
public sealed class TcpPeerClusterTests
{
    private static readonly string[] Settings = ["memo.raft.tick-interval = 20ms", "memo.network.eviction-delay = 1h"];

    [Theory]
    [InlineData("tcp", "replica")]
    [InlineData("akka", "replica")]
    [InlineData("tcp", "node")]
    public async Task Three_nodes_replicate_over_the_peer_transport_writes_survive_a_leaders_kill_and_it_catches_up_after_restart(string transport, string turnLoop)
    {
        await using var cluster = await InProcessCluster.StartAsync(3, [.. Settings, $"memo.peer.transport = {transport}", $"memo.shards.turn-loop = {turnLoop}"]);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        await WaitAsync(cluster, _ => GroupsPlacedOnRing(cluster, 3), "every shard has one leader with the ring's voters");

        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            // Together, so that several shards' turns can share a round of a node's turn loop.
            await Task.WhenAll(Enumerable.Range(0, 40).Select(i => writer.UpsertAsync($"before/{i:D2}", V($"b{i}"))));
        }
        AssertRaftWentOver(cluster, transport);
        // The turns went through each node's loop exactly when it is asked for.
        Assert.All(cluster.Nodes, s => Assert.Equal(turnLoop == "node", NodeTurnLoop.Of(s.Running.Shards.Silo).Commits > 0));

        // Kill the node that leads shard 0 (it holds at least that leadership); the other two elect new leaders.
        var shard = new ShardId(0);
        var leader = cluster.Nodes.Single(s => s.Running.Shards.TryGetReplica(shard, out var r) && r.Status.IsLeader);
        await cluster.KillAsync(leader.Index);
        var survivors = cluster.Nodes.Where(s => s.Node is not null).ToList();

        using var survivorWriter = ClientOf(survivors[0]);
        for (var i = 0; i < 20; i++)
        {
            await UpsertUntilAcknowledgedAsync(survivorWriter, $"after/{i:D2}", V($"a{i}"));
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

        // The killed node comes back (on TCP with a new peer port, which its member role announces): the others' links
        // reach it again and it catches up with what was written without it.
        await cluster.RestartAsync(leader.Index);
        var restarted = cluster.Nodes[leader.Index].Running;
        await WaitForAsync(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                if (await restarted.Shards.Silo.ReadEntryAsync($"after/{i:D2}") is null)
                {
                    return false;
                }
            }
            return true;
        }, cluster, "the restarted node's silo holds the 20 writes made while it was down");
    }

    // A write sent to the dead leader before the survivors elected another ends "outcome unknown" (it may have been
    // applied); an upsert is idempotent, so a client retries it, as this one does until the new leader acknowledges.
    internal static async Task UpsertUntilAcknowledgedAsync(Memo.Protocol.Client.MemoClient client, string key, byte[] value)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
        while (true)
        {
            try
            {
                await client.UpsertAsync(key, value);
                return;
            }
            catch (Memo.Protocol.Grpc.GrpcException e) when (e.Status == Memo.Protocol.Grpc.GrpcStatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
