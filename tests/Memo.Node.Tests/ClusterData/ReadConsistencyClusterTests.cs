using Memo.Node.Raft;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// One Fetch's read consistency, chosen by the <c>memo-read-consistency</c> header (<c>memo kv get --consistency</c>):
/// a stale read is answered by a follower's copy while its shard has no quorum (a linearizable one is not), by a
/// replica on another node when the node asked holds none, and a bad level is refused.
/// </summary>
public sealed class ReadConsistencyClusterTests
{
    [Fact]
    public async Task A_stale_read_is_served_by_a_follower_whose_shard_lost_its_quorum_and_a_linearizable_read_is_not()
    {
        // Long eviction: the lone survivor must not down itself (keep-majority) while the test reads from it.
        await using var cluster = await InProcessCluster.StartAsync(3, ["memo.network.eviction-delay = 10m"]);
        const string key = "consistency/stale";
        await WaitForReplicasEverywhereAsync(cluster);
        using (var writer = new MemoClient(cluster.Nodes[0].Address))
        {
            await writer.UpsertAsync(key, "v1"u8.ToArray());
        }
        var shard = cluster.Nodes[0].Running.Shards.Layout.ShardOf(key);
        var survivor = cluster.Nodes.First(n => n.Running.Shards.TryGetReplica(shard, out var r) && !r.Status.IsLeader);
        // The silo itself, not a published status: a status may lag the write's acknowledgement.
        await WaitUntilStoredAsync(cluster, [survivor], key);

        foreach (var other in cluster.Nodes.Where(n => n != survivor).ToList())
        {
            await cluster.KillAsync(other.Index);
        }

        using var client = new MemoClient(survivor.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(4) });
        Assert.Equal("v1"u8.ToArray(), await client.FetchAsync(key, ReadConsistencyLevel.Stale));
        var linearizable = await Assert.ThrowsAsync<GrpcException>(() => client.FetchAsync(key, ReadConsistencyLevel.Linearizable));
        Assert.Contains(linearizable.Status, new[] { GrpcStatusCode.DeadlineExceeded, GrpcStatusCode.Unavailable });
        // The node's default (linearizable here) applies without the header.
        var byDefault = await Assert.ThrowsAsync<GrpcException>(() => client.FetchAsync(key));
        Assert.Contains(byDefault.Status, new[] { GrpcStatusCode.DeadlineExceeded, GrpcStatusCode.Unavailable });
        // The CLI passes the level.
        var io = new Memo.Node.Tests.Cli.FakeIo(null);
        var code = await new Memo.Cli.MemoCli(io.Io).RunAsync(["--node", survivor.Address, "--timeout", "4s", "kv", "get", key, "--consistency", "stale"]);
        Assert.Equal((0, "v1"), (code, System.Text.Encoding.UTF8.GetString(io.Stdout.ToArray())));
    }

    [Fact]
    public async Task A_stale_read_through_a_node_without_a_replica_is_answered_by_the_one_replica_left()
    {
        await using var cluster = await InProcessCluster.StartAsync(4, ["memo.network.replication-factor = 3", "memo.network.eviction-delay = 10m"]);
        // All four Up in every view: otherwise the other three, each seeing a three-node ring, may host every shard.
        // (A replica the ring no longer places here, still hosted while its group hands it off, must fail the check.)
        // The unmet form names the node and shard that hold the wait up, with the replica's status. It timed out in about
        // one full-suite run in three until a learner the growing ring moved away before its promotion (it keeps its old
        // leader for good) could be retired (ReplicaRetirement): "placed False, hosted True, status ... Follower ... learners=(it)".
        await cluster.WaitUntilAsync(nodes =>
            {
                foreach (var n in nodes)
                {
                    if (!AllUp(n, 4))
                    {
                        return $"node {n.Index} does not see four members Up";
                    }
                    foreach (var s in Layout(n))
                    {
                        bool placed = n.View.ReplicasOf(s).Contains(n.Running.Shards.Self);
                        bool hosted = n.Running.Shards.TryGetReplica(s, out var r);
                        if (placed != hosted || (r is not null && r.Status.Membership.Voters.Length != 3))
                        {
                            return $"node {n.Index}, shard {s}: placed {placed}, hosted {hosted}, status {r?.Status}";
                        }
                    }
                }
                return null;
            },
            "all four nodes Up everywhere, and every node hosts exactly the voter replicas the ring places on it", TimeSpan.FromSeconds(90));
        // A node the ring leaves out of some shard's replica set (with 4 nodes and RF 3 one always exists), and a key of that shard.
        var asked = cluster.Nodes.First(n => Layout(n).Any(s => !n.Running.Shards.TryGetReplica(s, out _)));
        var key = Enumerable.Range(0, 1000).Select(i => $"consistency/far/{i}")
            .First(k => !asked.Running.Shards.TryGetReplica(asked.Running.Shards.Layout.ShardOf(k), out _));
        var shard = asked.Running.Shards.Layout.ShardOf(key);
        using (var writer = new MemoClient(cluster.Nodes[0].Address))
        {
            await writer.UpsertAsync(key, "far"u8.ToArray());
        }
        var replicas = cluster.Nodes.Where(n => n.Running.Shards.TryGetReplica(shard, out _)).ToList();
        await WaitUntilStoredAsync(cluster, replicas, key);

        // Two of the shard's three replicas die: the shard has no quorum, and the node asked holds no copy.
        foreach (var dead in replicas.Take(2))
        {
            await cluster.KillAsync(dead.Index);
        }

        using var client = new MemoClient(asked.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
        Assert.Equal("far"u8.ToArray(), await client.FetchAsync(key, ReadConsistencyLevel.Stale));
        // A survivor that led the shard may still answer a linearizable read from its lease (up to an election timeout
        // after the last quorum it heard): wait until CheckQuorum has made it step down, then no read can be confirmed.
        var survivor = replicas[2];
        await cluster.WaitUntilAsync(_ => !survivor.Running.Shards.TryGetReplica(shard, out var left) || left.Status.Role != RaftRole.Leader,
            "the shard's last replica is no longer its leader", TimeSpan.FromSeconds(30));
        using var impatient = new MemoClient(asked.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(4) });
        var linearizable = await Assert.ThrowsAsync<GrpcException>(() => impatient.FetchAsync(key, ReadConsistencyLevel.Linearizable));
        Assert.Contains(linearizable.Status, new[] { GrpcStatusCode.DeadlineExceeded, GrpcStatusCode.Unavailable });
    }

    [Fact]
    public async Task An_unknown_consistency_level_is_refused_as_invalid_and_the_node_keeps_serving()
    {
        await using var cluster = await InProcessCluster.StartAsync(1);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://{cluster.Nodes[0].Address}");
        var invoker = channel.CreateCallInvoker();
        var headers = new Grpc.Core.Metadata { { ReadConsistencyLevels.HeaderName, "eventual" } };

        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => invoker.AsyncUnaryCall(KeyValueStoreMethods.Fetch, null,
            new Grpc.Core.CallOptions(headers), new Memo.Protocol.Kvs.FetchRequest { Key = "k" }).ResponseAsync);

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("memo-read-consistency", refused.Status.Detail, StringComparison.Ordinal);
        using var client = new MemoClient(cluster.Nodes[0].Address);
        await client.UpsertAsync("k", "still"u8.ToArray());
        Assert.Equal("still"u8.ToArray(), await client.FetchAsync("k", ReadConsistencyLevel.Stale));
    }

    // Until every one of the nodes holds the key in its own silo (a follower applies the write once it learns the commit).
    private static async Task WaitUntilStoredAsync(InProcessCluster cluster, IReadOnlyList<InProcessCluster.Slot> nodes, string key)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var missing = new List<int>();
            foreach (var node in nodes)
            {
                if (await node.Running.Shards.Silo.ReadEntryAsync(key) is null)
                {
                    missing.Add(node.Index);
                }
            }
            if (missing.Count == 0)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"nodes {string.Join(", ", missing)} did not store {key} within 30 s (of {cluster.Nodes.Count})");
            await Task.Delay(50);
        }
    }

    private static Task WaitForReplicasEverywhereAsync(InProcessCluster cluster) =>
        cluster.WaitUntilAsync(nodes => nodes.All(n => AllUp(n, 3) && Layout(n).All(s => n.Running.Shards.TryGetReplica(s, out var r) && r.Status.Membership.Voters.Length == 3)),
            "every node hosts a voter replica of every shard", TimeSpan.FromSeconds(60));

    // A node still joining has an empty layout, so a check over its shards alone would pass vacuously.
    private static bool AllUp(InProcessCluster.Slot slot, int count) =>
        slot.View.Membership.MembersIn(Memo.Node.Cluster.MemberStatus.Up).Count() == count;

    private static IEnumerable<ShardId> Layout(InProcessCluster.Slot slot) =>
        Enumerable.Range(0, slot.View.Network.ShardCount).Select(i => new ShardId(i));
}
