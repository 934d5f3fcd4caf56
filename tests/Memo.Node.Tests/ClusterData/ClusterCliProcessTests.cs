using System.Text;
using System.Text.Json;
using Memo.Cli;
using Memo.Protocol.Client;
using Memo.Node.Tests.Cli;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// <c>memo cluster show | shards | leave | down</c> run in-process against three real node processes joined with
/// <c>--seed</c>, over Akka remoting (<c>--remote</c>, the node's remoting endpoint); assertions on the commands' JSON
/// output.
/// </summary>
public sealed class ClusterCliProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(60);

    private static readonly string[] Settings =
    [
        "--shards", "4",
        "--set", "memo.raft.tick-interval=20ms",
        .. InProcessCluster.FastAkkaCluster.SelectMany(setting => new[] { "--set", setting.Replace(" = ", "=", StringComparison.Ordinal) }),
        "--set", "memo.network.eviction-delay=1h",
    ];

    [Fact]
    public async Task Cluster_commands_show_3_processes_list_their_shards_and_leave_and_down_members()
    {
        var root = Path.Combine(Path.GetTempPath(), "memo-cluster-cli-" + Guid.NewGuid().ToString("n"));
        var nodes = new NodeProcess?[3];
        try
        {
            nodes[0] = await NodeProcess.StartAsync(Path.Combine(root, "node1"), Settings);
            nodes[1] = await NodeProcess.StartAsync(Path.Combine(root, "node2"), [.. Settings, "--seed", nodes[0]!.RemoteAddress]);
            nodes[2] = await NodeProcess.StartAsync(Path.Combine(root, "node3"), [.. Settings, "--seed", nodes[0]!.RemoteAddress]);
            var node1 = nodes[0]!.RemoteAddress;

            await WaitAsync(async () =>
            {
                var members = await ShowAsync(node1);
                return members.Count == 3 && members.All(m => m.Status == "up");
            }, "3 members Up in `cluster show`", nodes);
            var shown = await ShowAsync(node1);
            Assert.Equal(nodes.Select(n => n!.Address).Order(), shown.Select(m => m.Address).Order());
            Assert.All(shown, m => Assert.Matches("^[0-9a-f]{16}$", m.Id));

            // Every shard placed on the 3 members and led by one of them.
            await WaitAsync(async () =>
            {
                var shards = await ShardsAsync(node1);
                return shards.GetArrayLength() == 4 && shards.EnumerateArray().All(s => s.GetProperty("leader").GetString() is { Length: > 0 });
            }, "every shard led in `cluster shards`", nodes);
            var ids = shown.Select(m => m.Id).Order().ToList();
            // Placement is the ring's wish; the Raft groups get there once the joiners' replicas caught up as learners.
            await WaitAsync(async () =>
            {
                var local = await ShardsAsync(node1, "localReplicas");
                return local.GetArrayLength() == 4 && local.EnumerateArray().All(r =>
                    r.GetProperty("voters").GetArrayLength() == 3 && r.GetProperty("learners").GetArrayLength() == 0);
            }, "every replica on node 1 in a group of 3 voters in `cluster shards`", nodes);
            foreach (var local in (await ShardsAsync(node1, "localReplicas")).EnumerateArray())
            {
                Assert.Equal(ids, local.GetProperty("voters").EnumerateArray().Select(v => v.GetString()!).Order().ToList());
            }
            foreach (var shard in (await ShardsAsync(node1)).EnumerateArray())
            {
                var replicas = shard.GetProperty("replicas").EnumerateArray().Select(r => r.GetString()!).Order().ToList();
                Assert.Equal(ids, replicas);
                Assert.Contains(shard.GetProperty("leader").GetString(), replicas);
                Assert.False(shard.GetProperty("underReplicated").GetBoolean(), shard.ToString());
            }

            // Graceful leave of node 3, named by id, asked of node 1.
            var node3 = shown.Single(m => m.Address == nodes[2]!.Address).Id;
            var (leaveCode, leave) = await RunAsync(node1, "--json", "cluster", "leave", node3);
            Assert.True(leaveCode == ExitCodes.Ok, leave.Err.ToString());
            using (var left = JsonDocument.Parse(leave.Out.ToString()))
            {
                Assert.Equal("leave", left.RootElement.GetProperty("action").GetString());
                Assert.Equal(node3, left.RootElement.GetProperty("id").GetString());
            }
            // Akka forgets a removed member: it drops out of `cluster show`, and the process exits after its hand-off.
            await WaitAsync(async () => (await ShowAsync(node1)).All(m => m.Id != node3 || m.Status == "removed"),
                "node 3 Removed from `cluster show`", nodes);
            await nodes[2]!.WaitForExitAsync(Phase);

            // Node 2 killed with SIGKILL: its remoting endpoint refuses the admin client (exit 2, JSON error on stderr).
            var node2 = shown.Single(m => m.Address == nodes[1]!.Address).Id;
            await nodes[1]!.KillAsync();
            var (deadCode, dead) = await RunAsync(nodes[1]!.RemoteAddress, "--json", "cluster", "show");
            Assert.Equal(ExitCodes.Unreachable, deadCode);
            Assert.Equal("", dead.Out.ToString());
            using (var error = JsonDocument.Parse(dead.Err.ToString()))
            {
                Assert.Equal("Unavailable", error.RootElement.GetProperty("error").GetProperty("status").GetString());
                Assert.Contains(nodes[1]!.RemoteAddress, error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            }

            // Then downed, named by its remoting endpoint, through node 1.
            var (downCode, down) = await RunAsync(node1, "--json", "cluster", "down", nodes[1]!.RemoteAddress);
            Assert.True(downCode == ExitCodes.Ok, down.Err.ToString());
            using (var downed = JsonDocument.Parse(down.Out.ToString()))
            {
                Assert.Equal(node2, downed.RootElement.GetProperty("id").GetString());
            }
            await WaitAsync(async () => (await ShowAsync(node1)).SingleOrDefault(m => m.Id == node2)?.Status is null or "down" or "removed",
                "node 2 Down or Removed in `cluster show`", nodes);
            var final = await ShowAsync(node1);
            output.WriteLine(string.Join("\n", final));
            Assert.Equal("up", final.Single(m => m.Address == nodes[0]!.Address).Status);
        }
        finally
        {
            await StopAndDeleteAsync(nodes, root);
        }
    }

    [Fact]
    public async Task Three_processes_on_the_TCP_peer_transport_keep_acknowledged_writes_across_a_leaders_kill()
    {
        var root = Path.Combine(Path.GetTempPath(), "memo-cluster-tcp-" + Guid.NewGuid().ToString("n"));
        var nodes = new NodeProcess?[3];
        string[] settings = [.. Settings, "--set", "memo.peer.transport=tcp"];
        try
        {
            nodes[0] = await NodeProcess.StartAsync(Path.Combine(root, "node1"), settings);
            nodes[1] = await NodeProcess.StartAsync(Path.Combine(root, "node2"), [.. settings, "--seed", nodes[0]!.RemoteAddress]);
            nodes[2] = await NodeProcess.StartAsync(Path.Combine(root, "node3"), [.. settings, "--seed", nodes[0]!.RemoteAddress]);
            var node1 = nodes[0]!.RemoteAddress;
            await WaitAsync(async () =>
            {
                var local = await ShardsAsync(node1, "localReplicas");
                return local.GetArrayLength() == 4 && local.EnumerateArray().All(r =>
                    r.GetProperty("voters").GetArrayLength() == 3 && r.GetProperty("learners").GetArrayLength() == 0);
            }, "every replica on node 1 in a group of 3 voters", nodes);
            await WaitAsync(async () => (await ShardsAsync(node1)).EnumerateArray().All(s => s.GetProperty("leader").GetString() is { Length: > 0 }),
                "every shard led", nodes);

            using (var writer = new MemoClient(nodes[0]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) }))
            {
                for (var i = 0; i < 30; i++)
                {
                    await TcpPeerClusterTests.UpsertUntilAcknowledgedAsync(writer, $"before/{i:D2}", Encoding.UTF8.GetBytes($"b{i}"));
                }
            }
            // Raft went over the TCP peer links: every process logged a link up on them.
            Assert.All(nodes, n => Assert.Contains("is up (TCP)", n!.Output, StringComparison.Ordinal));

            // SIGKILL the process that leads shard 0; the survivors elect new leaders and keep every acknowledged write.
            var members = await ShowAsync(node1);
            var leaderId = (await ShardsAsync(node1)).EnumerateArray().First().GetProperty("leader").GetString();
            var leaderAddress = members.Single(m => m.Id == leaderId).Address;
            var killed = Array.FindIndex(nodes, n => n!.Address == leaderAddress);
            await nodes[killed]!.KillAsync();
            var survivors = nodes.Where((_, i) => i != killed).Select(n => n!).ToList();

            using var survivorWriter = new MemoClient(survivors[0].Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });
            for (var i = 0; i < 10; i++)
            {
                await TcpPeerClusterTests.UpsertUntilAcknowledgedAsync(survivorWriter, $"after/{i:D2}", Encoding.UTF8.GetBytes($"a{i}"));
            }
            using var reader = new MemoClient(survivors[1].Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });
            for (var i = 0; i < 30; i++)
            {
                Assert.Equal($"b{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"before/{i:D2}") ?? Encoding.UTF8.GetBytes("<missing>")));
            }
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal($"a{i}", Encoding.UTF8.GetString(await reader.FetchAsync($"after/{i:D2}") ?? Encoding.UTF8.GetBytes("<missing>")));
            }
        }
        finally
        {
            await StopAndDeleteAsync(nodes, root);
        }
    }

    // Stops every node that started and deletes their data folders.
    private static async Task StopAndDeleteAsync(NodeProcess?[] nodes, string root)
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

    private sealed record Member(string Id, string Address, string Status);

    private static async Task<(int Code, FakeIo Io)> RunAsync(string remote, params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--remote", remote, "--timeout", "10s"]);
        return (code, io);
    }

    // `memo --json cluster show`: the members (id, address, status); throws when the command fails.
    private static async Task<IReadOnlyList<Member>> ShowAsync(string node)
    {
        var (code, io) = await RunAsync(node, "--json", "cluster", "show");
        if (code != ExitCodes.Ok)
        {
            throw new CliFailedException($"cluster show exited {code}: {io.Err}");
        }
        using var json = JsonDocument.Parse(io.Out.ToString());
        return json.RootElement.GetProperty("members").EnumerateArray()
            .Select(m => new Member(m.GetProperty("id").GetString()!, m.GetProperty("address").GetString()!, m.GetProperty("status").GetString()!))
            .ToList();
    }

    // `memo --json cluster shards`: the "shards" array (a clone, so it outlives the document).
    private static async Task<JsonElement> ShardsAsync(string node, string part = "shards")
    {
        var (code, io) = await RunAsync(node, "--json", "cluster", "shards");
        if (code != ExitCodes.Ok)
        {
            throw new CliFailedException($"cluster shards exited {code}: {io.Err}");
        }
        using var json = JsonDocument.Parse(io.Out.ToString());
        return json.RootElement.GetProperty(part).Clone();
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string phase, NodeProcess?[] nodes)
    {
        var deadline = DateTime.UtcNow + Phase;
        var last = "";
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (CliFailedException e)
            {
                last = e.Message; // not serving yet: poll again
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"phase '{phase}' not reached within {Phase}. Last failure: {last}\n"
                    + string.Join("\n---\n", nodes.Where(n => n is not null).Select(n => n!.Output)));
            }
            // Polling pause, not synchronisation: the condition is re-checked each time.
            await Task.Delay(100);
        }
    }

    private sealed class CliFailedException(string message) : Exception(message);
}
