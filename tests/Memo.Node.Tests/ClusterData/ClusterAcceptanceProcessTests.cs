using System.Text;
using Memo.Admin;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Admin.Wire;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// The cluster issue's process-level acceptance run: 3 node processes (RF 3, joined with <c>--seed</c>); 1,000 keys
/// written through node 1 read back through node 3; node 3 SIGKILLed while writes and reads go on through nodes 1 and 2;
/// node 3 restarted on its data folder catches up (its own replicas reach the leaders' applied index) and serves everything.
/// </summary>
public sealed class ClusterAcceptanceProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Keys_written_through_node_1_read_through_node_3_survive_its_SIGKILL_and_it_catches_up_after_restart()
    {
        var root = Path.Combine(Path.GetTempPath(), "memo-accept-" + Guid.NewGuid().ToString("n"));
        var folders = Enumerable.Range(1, 3).Select(i => Path.Combine(root, $"node{i}")).ToArray();
        var nodes = new NodeProcess?[3];
        var settings = ClusterProcessTests.Settings;
        try
        {
            nodes[0] = await NodeProcess.StartAsync(folders[0], settings);
            nodes[1] = await NodeProcess.StartAsync(folders[1], [.. settings, "--seed", nodes[0]!.RemoteAddress]);
            nodes[2] = await NodeProcess.StartAsync(folders[2], [.. settings, "--seed", nodes[0]!.RemoteAddress]);
            await using (var admin = TestAdmin.Connect(nodes[0]!.RemoteAddress, TimeSpan.FromSeconds(5)))
            {
                await ClusterProcessTests.WaitAsync(async () =>
                {
                    var shards = await admin.ShardsAsync();
                    return shards.Shards.Count == 4 && shards.Shards.All(s => s.Replicas.Count == 3 && s.LeaderId.Length > 0);
                }, "3 members, every shard placed on 3 and led", nodes);
            }

            using var node1 = new MemoClient(nodes[0]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            using var node2 = new MemoClient(nodes[1]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            await ForEachAsync(Enumerable.Range(0, 1000), i => node1.UpsertAsync(Key(i), Value(i)));
            var port = nodes[2]!.Address;
            var remotePort = nodes[2]!.RemoteAddress;
            using (var node3 = new MemoClient(port, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) }))
            {
                await ForEachAsync(Enumerable.Range(0, 1000), async i => Assert.Equal(Value(i), await node3.FetchAsync(Key(i))));
            }

            await nodes[2]!.KillAsync();
            await nodes[2]!.DisposeAsync();
            nodes[2] = null;
            // Two of three replicas are a majority: writes and reads go on through both survivors. A write forwarded to
            // node 3 while it still led a shard (an election may have moved a leadership there) has no answer and an
            // unknown outcome; an upsert of the same value is safe to send again, as a client would.
            var unknown = 0;
            await ForEachAsync(Enumerable.Range(1000, 300), async i =>
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await (i % 2 == 0 ? node1 : node2).UpsertAsync(Key(i), Value(i));
                        return;
                    }
                    catch (GrpcException e) when (e.Status == GrpcStatusCode.Unavailable && attempt < 3)
                    {
                        Interlocked.Increment(ref unknown);
                    }
                }
            });
            output.WriteLine($"writes with node 3 down: {unknown} attempt(s) answered unavailable and sent again");
            await ForEachAsync(Enumerable.Range(0, 1300).Where(i => i % 7 == 0), async i => Assert.Equal(Value(i), await node2.FetchAsync(Key(i))));

            var leaders = await LeaderAppliedAsync([nodes[0]!.RemoteAddress, nodes[1]!.RemoteAddress]);
            nodes[2] = await NodeProcess.StartOnFixedPortsAsync(folders[2], [.. settings, "--seed", nodes[0]!.RemoteAddress, "--set", $"memo.node.listen=\"{port}\"", "--set", $"memo.node.remote=\"{remotePort}\""]);
            await ClusterProcessTests.WaitAsync(async () =>
            {
                var local = await LocalReplicasAsync(nodes[2]!.RemoteAddress);
                return leaders.All(l => local.Any(r => r.Shard == l.Key && r.AppliedIndex >= l.Value));
            }, $"node 3's own replicas applied up to the leaders' indexes {string.Join(",", leaders.Select(l => $"{l.Key}:{l.Value}"))}", nodes);

            using var restarted = new MemoClient(nodes[2]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            var missing = 0;
            await ForEachAsync(Enumerable.Range(0, 1300), async i =>
            {
                var value = await restarted.FetchAsync(Key(i));
                if (value is null || !Value(i).SequenceEqual(value))
                {
                    Interlocked.Increment(ref missing);
                }
            });
            output.WriteLine($"1,300 keys written (300 while node 3 was down); node 3 caught up to {string.Join(",", leaders.Select(l => $"shard {l.Key}@{l.Value}"))}");
            Assert.Equal(0, missing);
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (node is not null)
                {
                    await node.DisposeAsync();
                }
            }
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    // The applied index of each shard's leader, as the nodes that are up report their own replicas (admin over remoting).
    internal static async Task<Dictionary<int, ulong>> LeaderAppliedAsync(string[] remoteAddresses)
    {
        var applied = new Dictionary<int, ulong>();
        foreach (var address in remoteAddresses)
        {
            foreach (var replica in (await LocalReplicasAsync(address)).Where(r => r.IsLeader))
            {
                applied[replica.Shard] = Math.Max(applied.GetValueOrDefault(replica.Shard), replica.AppliedIndex);
            }
        }
        Assert.Equal(4, applied.Count);
        return applied;
    }

    // The replicas the node at remoteAddress hosts, as its admin actor reports them (ShardsResponse.local_replicas).
    // Throws AdminException or TimeoutException while the node does not answer yet.
    internal static async Task<IReadOnlyList<LocalReplicaInfo>> LocalReplicasAsync(string remoteAddress)
    {
        await using var admin = TestAdmin.Connect(remoteAddress, TimeSpan.FromSeconds(5));
        try
        {
            return (await admin.ShardsAsync()).LocalReplicas;
        }
        catch (AdminUnreachableException e)
        {
            throw new TimeoutException(e.Message, e);
        }
    }

    internal static Task ForEachAsync(IEnumerable<int> items, Func<int, Task> action) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) => await action(i));

    private static string Key(int i) => $"accept/{i:D5}";

    private static byte[] Value(int i) => Encoding.UTF8.GetBytes($"value-{i}");
}
