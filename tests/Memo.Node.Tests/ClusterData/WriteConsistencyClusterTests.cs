using System.Text;
using Memo.Node.Tests.ShardGroups;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// One write's consistency, chosen by the <c>memo-write-consistency</c> header (<c>MemoClient.UpsertAsync(..., level)</c>,
/// <c>memo kv put --consistency</c>) or the node's <c>memo.kvs.write-consistency</c>: async upserts through a node that
/// leads no shard (so they are forwarded) are acknowledged at the leader's append, and every replica holds them once
/// replication catches up; a bad level is refused; a node whose default is async still answers an insert with its
/// verdict. The early acknowledgement without a majority is shown at the replica (<see cref="AsyncProposalTests"/>).
/// </summary>
[Collection(AsyncWriteCollection.Name)]
public sealed class WriteConsistencyClusterTests
{
    [Fact]
    public async Task Async_writes_are_acknowledged_and_visible_on_every_replica_after_replication_catches_up()
    {
        using var metrics = new AsyncProposalTests.AsyncWriteCounters();
        await using var cluster = await InProcessCluster.StartAsync(3, ["memo.network.eviction-delay = 10m"]);
        await cluster.WaitForVoterReplicasEverywhereAsync(3, TimeSpan.FromSeconds(60));
        // The node asked leads none of the keys' shards (a fresh cluster's first node leads them all), so the writes travel
        // to the leaders and their early answers travel back.
        var asked = cluster.Nodes[2];
        var expected = new Dictionary<string, byte[]>();
        using (var client = new MemoClient(asked.Address))
        {
            for (var i = 0; i < 12; i++)
            {
                var value = Encoding.UTF8.GetBytes($"async value {i}");
                await client.UpsertAsync($"async/{i}", value, WriteConsistencyLevel.Async);
                expected[$"async/{i}"] = value;
            }
            // Overwritten, and a value over the inline limit (its block goes to a majority of copies first, then the entry).
            expected["async/0"] = "replaced"u8.ToArray();
            await client.UpsertAsync("async/0", expected["async/0"], WriteConsistencyLevel.Async);
            expected["async/large"] = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7)).ToArray();
            await client.UpsertAsync("async/large", expected["async/large"], WriteConsistencyLevel.Async);
        }
        var cli = new Memo.Node.Tests.Cli.FakeIo(null);
        var putCode = await new Memo.Cli.MemoCli(cli.Io).RunAsync(["--node", asked.Address, "--timeout", "30s", "kv", "put", "async/cli", "from the cli", "--consistency", "async"]);
        Assert.Equal((0, "stored async/cli (12 bytes, upsert, async)"), (putCode, cli.Out.ToString().Trim()));
        expected["async/cli"] = "from the cli"u8.ToArray();
        Assert.Equal(expected.Count + 1, metrics.Acknowledged); // async/0 was written twice

        await cluster.WaitUntilAsync(nodes => nodes.All(n => expected.Keys.All(key =>
            {
                var shard = n.Running.Shards.Layout.ShardOf(key);
                var leaderCommit = nodes.Select(o => o.Running.Shards.TryGetReplica(shard, out var r) && r.Status.IsLeader ? r.Status.Commit : default).Max();
                return n.Running.Shards.TryGetReplica(shard, out var mine) && mine.Status.Applied >= leaderCommit;
            })), "every replica applied what its leader committed", TimeSpan.FromSeconds(30));
        await cluster.WaitUntilAsync(_ => metrics.Uncommitted == 0 ? null : $"{metrics.Uncommitted} async writes uncommitted",
            "every async write committed", TimeSpan.FromSeconds(30));

        foreach (var node in cluster.Nodes)
        {
            using var reader = new MemoClient(node.Address);
            foreach (var (key, value) in expected)
            {
                // A stale read answers from this node's own replica: the write replicated there.
                Assert.Equal(value, await reader.FetchAsync(key, ReadConsistencyLevel.Stale));
                Assert.Equal(value, await reader.FetchAsync(key, ReadConsistencyLevel.Linearizable));
            }
        }
        var follower = cluster.Nodes.First(n => !n.Running.Shards.TryGetReplica(n.Running.Shards.Layout.ShardOf("async/cli"), out var r) || !r.Status.IsLeader);
        var get = new Memo.Node.Tests.Cli.FakeIo(null);
        var getCode = await new Memo.Cli.MemoCli(get.Io).RunAsync(["--node", follower.Address, "--timeout", "30s", "kv", "get", "async/cli", "--consistency", "stale"]);
        Assert.Equal((0, "from the cli"), (getCode, Encoding.UTF8.GetString(get.Stdout.ToArray())));
        Assert.Equal(0, metrics.Unconfirmed);
    }

    [Fact]
    public async Task An_unknown_write_consistency_is_refused_naming_the_levels_and_a_node_defaulting_to_async_still_answers_inserts_with_their_verdict()
    {
        await using var cluster = await InProcessCluster.StartAsync(1, ["memo.kvs.write-consistency = async"]);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://{cluster.Nodes[0].Address}");
        var invoker = channel.CreateCallInvoker();
        var headers = new Grpc.Core.Metadata { { WriteConsistencyLevels.HeaderName, "eventual" } };

        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => invoker.AsyncUnaryCall(KeyValueStoreMethods.Upsert, null,
            new Grpc.Core.CallOptions(headers), new Memo.Protocol.Kvs.UpsertRequest { Key = "k", Value = Google.Protobuf.ByteString.CopyFromUtf8("v") }).ResponseAsync);

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("'majority' or 'async'", refused.Status.Detail, StringComparison.Ordinal);
        using var client = new MemoClient(cluster.Nodes[0].Address);
        Assert.Null(await client.FetchAsync("k"));
        // The node's default (async) acknowledges an upsert without the header; an insert still says whether the key existed.
        await client.UpsertAsync("k", "v1"u8.ToArray());
        Assert.Equal("v1"u8.ToArray(), await client.FetchAsync("k"));
        Assert.False(await client.InsertAsync("k", "v2"u8.ToArray()));
        await client.UpsertAsync("k", "v3"u8.ToArray(), WriteConsistencyLevel.Majority);
        Assert.Equal("v3"u8.ToArray(), await client.FetchAsync("k"));
        // The CLI refuses async with a conditional mode before it calls anything.
        var io = new Memo.Node.Tests.Cli.FakeIo(null);
        var code = await new Memo.Cli.MemoCli(io.Io).RunAsync(["--node", cluster.Nodes[0].Address, "kv", "put", "k", "v4", "--mode", "insert", "--consistency", "async"]);
        Assert.Equal(Memo.Cli.ExitCodes.Usage, code);
        Assert.Contains("upserts only", io.Err.ToString(), StringComparison.Ordinal);
        Assert.Equal("v3"u8.ToArray(), await client.FetchAsync("k"));
    }
}
