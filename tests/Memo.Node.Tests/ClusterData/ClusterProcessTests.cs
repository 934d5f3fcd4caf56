using System.Collections.Concurrent;
using System.Text;
using Memo.Admin;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.ClusterData;

/// <summary>Three real node processes joined with <c>--seed</c>; one is killed with SIGKILL mid-stream and restarted.</summary>
public sealed class ClusterProcessTests(ITestOutputHelper output)
{
    internal static readonly TimeSpan Phase = TimeSpan.FromSeconds(60);

    internal static readonly string[] Settings =
    [
        "--shards", "4",
        "--set", "memo.raft.tick-interval=20ms",
        .. InProcessCluster.FastAkkaCluster.SelectMany(setting => new[] { "--set", setting.Replace(" = ", "=", StringComparison.Ordinal) }),
        "--set", "memo.network.eviction-delay=1h",
    ];

    [Fact]
    public async Task Nothing_acknowledged_is_lost_when_one_of_3_node_processes_is_SIGKILLed_and_restarted()
    {
        var root = Path.Combine(Path.GetTempPath(), "memo-cluster-proc-" + Guid.NewGuid().ToString("n"));
        var folders = Enumerable.Range(1, 3).Select(i => Path.Combine(root, $"node{i}")).ToArray();
        var nodes = new NodeProcess?[3];
        try
        {
            nodes[0] = await NodeProcess.StartAsync(folders[0], Settings);
            nodes[1] = await NodeProcess.StartAsync(folders[1], [.. Settings, "--seed", nodes[0]!.RemoteAddress]);
            nodes[2] = await NodeProcess.StartAsync(folders[2], [.. Settings, "--seed", nodes[0]!.RemoteAddress]);
            await using (var admin = TestAdmin.Connect(nodes[0]!.RemoteAddress, TimeSpan.FromSeconds(5)))
            {
                await WaitAsync(async () =>
                {
                    var shards = await admin.ShardsAsync();
                    return shards.Shards.Count == 4 && shards.Shards.All(s => s.Replicas.Count == 3 && s.LeaderId.Length > 0);
                }, "3 members, every shard placed on 3 and led", nodes);
            }

            var acknowledged = new ConcurrentDictionary<int, bool>();
            using var client = new MemoClient(nodes[0]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            using var stop = new CancellationTokenSource();
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var afterRestart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var restarted = false;
            var next = -1;
            var failures = 0;
            async Task WriterAsync()
            {
                while (!stop.IsCancellationRequested)
                {
                    var i = Interlocked.Increment(ref next);
                    try
                    {
                        await client.UpsertAsync($"p/{i:D6}", Encoding.UTF8.GetBytes($"v{i}"), CancellationToken.None);
                    }
                    catch (GrpcException)
                    {
                        Interlocked.Increment(ref failures); // not acknowledged: may or may not be stored
                        continue;
                    }
                    acknowledged[i] = true;
                    if (acknowledged.Count >= 300)
                    {
                        enough.TrySetResult();
                    }
                    if (Volatile.Read(ref restarted) && acknowledged.Count >= 600)
                    {
                        afterRestart.TrySetResult();
                    }
                }
            }
            var writers = Enumerable.Range(0, 8).Select(_ => Task.Run(WriterAsync)).ToArray();
            await enough.Task.WaitAsync(Phase);

            var port = nodes[2]!.Address;
            var remotePort = nodes[2]!.RemoteAddress;
            await nodes[2]!.KillAsync();
            await nodes[2]!.DisposeAsync();
            nodes[2] = null;
            var atKill = acknowledged.Count;
            nodes[2] = await NodeProcess.StartOnFixedPortsAsync(folders[2], [.. Settings, "--seed", nodes[0]!.RemoteAddress, "--set", $"memo.node.listen=\"{port}\"", "--set", $"memo.node.remote=\"{remotePort}\""]);
            Volatile.Write(ref restarted, true);
            await afterRestart.Task.WaitAsync(Phase);
            await stop.CancelAsync();
            await Task.WhenAll(writers).WaitAsync(Phase);
            output.WriteLine($"{acknowledged.Count} upserts acknowledged ({atKill} before the kill), {failures} failed");

            using var reader = new MemoClient(nodes[2]!.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) });
            var missing = new List<int>();
            foreach (var i in acknowledged.Keys.Order())
            {
                var value = await reader.FetchAsync($"p/{i:D6}");
                if (value is null || Encoding.UTF8.GetString(value) != $"v{i}")
                {
                    missing.Add(i);
                }
            }
            Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes lost, e.g. {string.Join(", ", missing.Take(10))}");
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

    internal static async Task WaitAsync(Func<Task<bool>> condition, string phase, NodeProcess?[] nodes)
    {
        var deadline = DateTime.UtcNow + Phase;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is GrpcException or Grpc.Core.RpcException or AdminException or TimeoutException)
            {
                // not serving yet (MemoClient throws GrpcException, generated clients RpcException, the admin client
                // AdminException or TimeoutException): poll again
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"phase '{phase}' not reached within {Phase}.\n"
                    + string.Join("\n---\n", nodes.Where(n => n is not null).Select(n => n!.Output)));
            }
            // Polling pause, not synchronisation: the condition is re-checked each time.
            await Task.Delay(50);
        }
    }
}
