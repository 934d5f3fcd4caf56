using System.Collections.Concurrent;
using System.Text;
using Memo.Protocol.Client;
using Memo.Admin.Wire;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;
using static Memo.Node.Tests.ClusterData.ClusterAcceptanceProcessTests;
using static Memo.Node.Tests.ClusterData.ClusterProcessTests;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// The cluster across real node processes (membership on Akka.Cluster, Raft over Akka.Remote): 3 processes started as
/// <c>--listen … --remote … --data … --seed &lt;node 1's remoting endpoint&gt;</c>; 1,000 keys written through node 1 read through node 3; node 2
/// SIGKILLed while writes go on through nodes 1 and 3; node 2 restarted on its folder and on the same API and remoting
/// ports catches up and serves every acknowledged write. Every member advertises its process's remoting endpoint and
/// the nodes log their peer links up over Akka.Remote to those endpoints.
/// </summary>
public sealed class AkkaTransportProcessTests(ITestOutputHelper output)
{
    // Named, not left to the default (tcp): this test checks Akka remoting's links and roles.
    private static readonly string[] OverAkka = [.. Settings, "--set", "memo.peer.transport=akka"];

    [Fact]
    public async Task Three_processes_linked_over_Akka_remoting_keep_every_acknowledged_write_across_a_SIGKILL_and_a_restart_on_the_same_ports()
    {
        var root = Path.Combine(Path.GetTempPath(), "memo-akka-proc-" + Guid.NewGuid().ToString("n"));
        var folders = Enumerable.Range(1, 3).Select(i => Path.Combine(root, $"node{i}")).ToArray();
        var nodes = new NodeProcess?[3];
        try
        {
            nodes[0] = await NodeProcess.StartAsync(folders[0], OverAkka);
            nodes[1] = await NodeProcess.StartAsync(folders[1], [.. OverAkka, "--seed", nodes[0]!.RemoteAddress]);
            nodes[2] = await NodeProcess.StartAsync(folders[2], [.. OverAkka, "--seed", nodes[0]!.RemoteAddress]);
            await WaitAsync(() => EveryShardHas3VotersAsync(nodes), "every node's 4 replicas in groups of 3 voters, each led", nodes);
            await WaitAsync(() => Task.FromResult(LinksUpOverAkka(nodes)), "peer links up over Akka.Remote between the nodes' remoting endpoints", nodes);
            await WaitAsync(() => EveryNodeShowsAllUpAsync(nodes), "every node shows the 3 members Up", nodes);
            await AssertRemoteRolesAsync(nodes, "after forming");

            // 1,000 keys through node 1, read back through node 3.
            using var node1 = new MemoClient(nodes[0]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            using var node3 = new MemoClient(nodes[2]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            await ForEachAsync(Enumerable.Range(0, 1000), i => node1.UpsertAsync(Key(i), Value(i)));
            await ForEachAsync(Enumerable.Range(0, 1000), async i => Assert.Equal(Value(i), await node3.FetchAsync(Key(i))));
            var acknowledged = new ConcurrentDictionary<int, bool>(Enumerable.Range(0, 1000).Select(i => KeyValuePair.Create(i, true)));

            // Writers through nodes 1 and 3; node 2 SIGKILLed under them; the majority keeps acknowledging.
            using var stop = new CancellationTokenSource();
            var next = 999;
            var failures = 0;
            var target = 1100;
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            async Task WriterAsync(MemoClient client)
            {
                while (!stop.IsCancellationRequested)
                {
                    var i = Interlocked.Increment(ref next);
                    try
                    {
                        await client.UpsertAsync(Key(i), Value(i), CancellationToken.None);
                    }
                    catch (GrpcException)
                    {
                        Interlocked.Increment(ref failures); // not acknowledged: may or may not be stored
                        continue;
                    }
                    acknowledged[i] = true;
                    if (acknowledged.Count >= Volatile.Read(ref target))
                    {
                        reached.TrySetResult();
                    }
                }
            }
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(() => WriterAsync(w % 2 == 0 ? node1 : node3))).ToArray();
            await PhaseAsync(reached.Task, "100 writes acknowledged through nodes 1 and 3 before the kill", nodes);

            var (api2, remote2) = (nodes[1]!.Address, nodes[1]!.RemoteAddress);
            await nodes[1]!.KillAsync();
            var killedOutput = nodes[1]!.Output;
            await nodes[1]!.DisposeAsync();
            nodes[1] = null;
            var atKill = acknowledged.Count;
            reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref target, atKill + 300);
            if (acknowledged.Count >= atKill + 300)
            {
                reached.TrySetResult();
            }
            await PhaseAsync(reached.Task, "300 more writes acknowledged through nodes 1 and 3 with node 2 SIGKILLed", nodes);
            await stop.CancelAsync();
            await PhaseAsync(Task.WhenAll(writers), "the writers stopped", nodes);

            // Node 2 back on its folder and on the same API and remoting ports: roles were fixed at join.
            var leaders = await LeaderAppliedAsync([nodes[0]!.RemoteAddress, nodes[2]!.RemoteAddress]);
            nodes[1] = await NodeProcess.StartOnFixedPortsAsync(folders[1],
            [
                .. OverAkka, "--seed", nodes[0]!.RemoteAddress,
                "--set", $"memo.node.listen=\"{api2}\"", "--set", $"memo.node.remote=\"{remote2}\"",
            ]);
            Assert.Equal((api2, remote2), (nodes[1]!.Address, nodes[1]!.RemoteAddress));
            await WaitAsync(async () =>
            {
                var local = await LocalReplicasAsync(nodes[1]!.RemoteAddress);
                return leaders.All(l => local.Any(r => r.Shard == l.Key && r.AppliedIndex >= l.Value));
            }, $"node 2's own replicas applied up to the leaders' indexes {string.Join(",", leaders.Select(l => $"{l.Key}:{l.Value}"))}", nodes);
            await WaitAsync(() => Task.FromResult(LinksUpOverAkka(nodes)), "the restarted node 2's peer links up over Akka.Remote", nodes);
            // The new incarnation is Joining until the leader sees the old one removed and the cluster converge.
            await WaitAsync(() => EveryNodeShowsAllUpAsync(nodes), "every node shows the 3 members Up after node 2's restart", nodes);
            await AssertRemoteRolesAsync(nodes, "after node 2's restart");

            using var restarted = new MemoClient(nodes[1]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            var missing = new ConcurrentBag<int>();
            await ForEachAsync(acknowledged.Keys, async i =>
            {
                var value = await restarted.FetchAsync(Key(i));
                if (value is null || !Value(i).SequenceEqual(value))
                {
                    missing.Add(i);
                }
            });
            output.WriteLine($"{acknowledged.Count} writes acknowledged ({atKill - 1000} after the first 1,000 before the kill, "
                + $"{acknowledged.Count - atKill} with node 2 down), {failures} failed; node 2 caught up to "
                + string.Join(",", leaders.Select(l => $"shard {l.Key}@{l.Value}")));
            Assert.True(missing.IsEmpty, $"{missing.Count} acknowledged writes missing through the restarted node 2, e.g. "
                + $"{string.Join(", ", missing.Order().Take(10))}\nnode 2 before the kill:\n{killedOutput}");
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

    // Every node hosts the 4 shards' replicas (RF 3 of 3), each in a group of 3 voters with a known leader.
    private static async Task<bool> EveryShardHas3VotersAsync(NodeProcess?[] nodes)
    {
        foreach (var node in nodes)
        {
            var local = await LocalReplicasAsync(node!.RemoteAddress);
            if (local.Count != 4 || !local.All(r => r.Voters.Count == 3 && r.LeaderId.Length > 0))
            {
                return false;
            }
        }
        return true;
    }

    // Raft traffic runs between each group's leader and its followers, so a node links only to the peers it shares a
    // leadership with: every running node logged a link up over Akka.Remote to some peer's remoting endpoint, and every
    // node is the target of some other node's link.
    private static bool LinksUpOverAkka(NodeProcess?[] nodes)
    {
        bool Linked(NodeProcess from, NodeProcess to) => from.Output.Contains($" at {to.RemoteAddress} is up (Akka.Remote)", StringComparison.Ordinal);
        return nodes.All(node => nodes.Any(peer => peer != node && Linked(node!, peer!)))
            && nodes.All(node => nodes.Any(peer => peer != node && Linked(peer!, node!)));
    }

    // Asked of every node: each member is Up and advertises, as its remote= role, the remoting endpoint its process reported.
    private static async Task<bool> EveryNodeShowsAllUpAsync(NodeProcess?[] nodes)
    {
        foreach (var node in nodes)
        {
            await using var admin = TestAdmin.Connect(node!.RemoteAddress, TimeSpan.FromSeconds(5));
            var show = await admin.ShowAsync();
            if (show.Members.Count(m => m.Status == MemberStatus.Up) != nodes.Length)
            {
                return false;
            }
        }
        return true;
    }

    private static async Task AssertRemoteRolesAsync(NodeProcess?[] nodes, string phase)
    {
        foreach (var node in nodes)
        {
            await using var admin = TestAdmin.Connect(node!.RemoteAddress, TimeSpan.FromSeconds(5));
            var show = await admin.ShowAsync();
            Assert.Equal(nodes.Select(n => n!.Address).Order(), show.Members.Where(m => m.Status == MemberStatus.Up).Select(m => m.Address).Order());
            foreach (var member in show.Members)
            {
                var process = nodes.Single(n => n!.Address == member.Address)!;
                Assert.True(member.Roles.Contains($"remote={process.RemoteAddress}"),
                    $"{phase}: node at {node.Address} shows member {member.Id} at {member.Address} with roles [{string.Join(", ", member.Roles)}], "
                    + $"not remote={process.RemoteAddress}");
            }
        }
    }

    private static async Task PhaseAsync(Task task, string phase, NodeProcess?[] nodes)
    {
        try
        {
            await task.WaitAsync(Phase);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"phase '{phase}' not reached within {Phase}.\n"
                + string.Join("\n---\n", nodes.Where(n => n is not null).Select(n => n!.Output)));
        }
    }

    private static string Key(int i) => $"akka/{i:D5}";

    private static byte[] Value(int i) => Encoding.UTF8.GetBytes($"value-{i}");
}
