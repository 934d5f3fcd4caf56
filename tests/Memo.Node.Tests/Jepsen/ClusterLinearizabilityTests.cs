using Memo.Node.Transport;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Memo.Testing.Linearizability;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Jepsen;

/// <summary>
/// Jepsen-style: clients record a key-value history against a 3-node in-process cluster while a nemesis partitions
/// links (through <see cref="PeerFaultInjector"/> on the real Akka.Remote links) and crash-restarts nodes; the history
/// must be linearizable. The same run with stale reads must be caught by the checker, which shows the check has teeth.
/// A failing run prints its seed; <c>MEMO_JEPSEN_SEED</c> reruns one.
/// </summary>
public sealed class ClusterLinearizabilityTests(ITestOutputHelper output)
{
    private static readonly string[] Keys = ["x", "y", "z"];

    [Fact]
    public async Task A_history_under_partitions_and_crash_restarts_is_linearizable()
    {
        var seed = Seed();
        var result = await RunAsync(seed, staleReads: false, TimeSpan.FromSeconds(8));
        Assert.False(result.TimedOut, $"seed {seed}: the checker ran out of time: {result.Explanation}");
        Assert.True(result.IsLinearizable, $"seed {seed} (MEMO_JEPSEN_SEED={seed}): {result.Explanation}");
    }

    [Fact]
    public async Task With_stale_reads_allowed_the_checker_rejects_a_history()
    {
        var first = Seed();
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var seed = first + attempt;
            var result = await RunAsync(seed, staleReads: true, TimeSpan.FromSeconds(6));
            if (!result.IsLinearizable && !result.TimedOut)
            {
                output.WriteLine($"seed {seed}: rejected as expected: {result.Explanation}");
                return;
            }
        }
        Assert.Fail($"stale reads were never caught in 4 runs from seed {first}: the linearizability check has no teeth here");
    }

    private int Seed()
    {
        var seed = Environment.GetEnvironmentVariable("MEMO_JEPSEN_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next(1, 1_000_000);
        output.WriteLine($"seed {seed} (MEMO_JEPSEN_SEED={seed} replays the schedule; thread timing still varies)");
        return seed;
    }

    private async Task<LinearizabilityResult> RunAsync(int seed, bool staleReads, TimeSpan duration)
    {
        var random = new Random(seed);
        string[] overrides = [.. InProcessCluster.FastSettings, "memo.network.replication-factor = 3", $"memo.kvs.read-consistency = {(staleReads ? "stale" : "linearizable")}"];
        await using var cluster = await InProcessCluster.StartAsync(3, overrides);
        await cluster.WaitUntilAsync(nodes => nodes.Count == 3 && nodes.All(n => n.View.Membership.MembersIn(Memo.Node.Cluster.MemberStatus.Up).Count() == 3),
            "3 members Up on every node", TimeSpan.FromSeconds(30));
        var faults = new PeerFaultInjector();
        void Install()
        {
            foreach (var slot in cluster.Running)
            {
                slot.Running.PeerLinks.FaultInjector = faults;
            }
        }
        Install();
        var addresses = cluster.Nodes.Select(n => n.Address).ToArray();
        var clients = addresses.Select(a => new MemoClient(a, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(2) })).ToArray();
        try
        {
            // Every key exists and every node serves before faults start.
            foreach (var key in Keys)
            {
                await EventuallyAsync(() => clients[0].UpsertAsync(key, "init"u8.ToArray()), $"initial write of {key}");
            }
            var history = new HistoryRecorder();
            foreach (var key in Keys)
            {
                var id = history.Invoke(0, key, KvOperationKind.Upsert, "init");
                history.Ok(id);
            }

            using var stop = new CancellationTokenSource(duration);
            var workers = Enumerable.Range(1, 4).Select(c => Task.Run(() => ClientAsync(c, new Random(seed * 31 + c), clients, history, stop.Token))).ToList();
            await NemesisAsync(cluster, faults, Install, new Random(seed * 17), stop.Token);
            faults.HealAll();
            await Task.WhenAll(workers);
            var operations = history.Operations;
            output.WriteLine($"{operations.Count} operations: {operations.Count(o => o.Outcome == HistoryOutcome.Ok)} ok, {operations.Count(o => o.Outcome == HistoryOutcome.Unknown)} unknown");
            return LinearizabilityChecker.Check(operations, TimeSpan.FromSeconds(30));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static async Task ClientAsync(int clientId, Random random, MemoClient[] clients, HistoryRecorder history, CancellationToken stop)
    {
        var home = clientId % clients.Length;
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            var client = clients[random.Next(4) == 0 ? random.Next(clients.Length) : home];
            var key = Keys[random.Next(Keys.Length)];
            var roll = random.Next(100);
            var value = $"c{clientId}-{n++}";
            var kind = roll < 50 ? KvOperationKind.Read : roll < 80 ? KvOperationKind.Upsert : roll < 90 ? KvOperationKind.Insert : KvOperationKind.Delete;
            var id = history.Invoke(clientId, key, kind, kind is KvOperationKind.Read or KvOperationKind.Delete ? null : value);
            try
            {
                switch (kind)
                {
                    case KvOperationKind.Read:
                        var read = await client.FetchAsync(key);
                        history.Ok(id, read is null ? null : System.Text.Encoding.UTF8.GetString(read));
                        break;
                    case KvOperationKind.Upsert:
                        await client.UpsertAsync(key, System.Text.Encoding.UTF8.GetBytes(value));
                        history.Ok(id);
                        break;
                    case KvOperationKind.Insert:
                        history.Ok(id, applied: await client.InsertAsync(key, System.Text.Encoding.UTF8.GetBytes(value)));
                        break;
                    default:
                        history.Ok(id, applied: await client.DeleteAsync(key));
                        break;
                }
            }
            catch (GrpcException)
            {
                // Timeout, unavailable, outcome unknown: the operation may or may not have happened. It stays
                // pending in the history, and this client moves on as a new process would.
            }
        }
    }

    private async Task NemesisAsync(InProcessCluster cluster, PeerFaultInjector faults, Action install, Random random, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var everyone = cluster.Running.Select(s => s.Running.NodeId).ToList();
            var victim = random.Next(cluster.Nodes.Count);
            switch (random.Next(3))
            {
                case 0 when cluster.Nodes[victim].Node is not null:
                    output.WriteLine($"nemesis: isolate node {victim}");
                    faults.Isolate(cluster.Nodes[victim].Running.NodeId, everyone);
                    break;
                case 1 when cluster.Running.Count() == cluster.Nodes.Count:
                    output.WriteLine($"nemesis: crash node {victim}, restart it");
                    faults.HealAll();
                    await cluster.KillAsync(victim);
                    await PauseAsync(400, stop);
                    await cluster.RestartAsync(victim);
                    install();
                    break;
                default:
                    output.WriteLine("nemesis: heal");
                    faults.HealAll();
                    break;
            }
            // The fault schedule's pace, not synchronisation.
            await PauseAsync(600 + random.Next(600), stop);
        }
    }

    private static async Task PauseAsync(int milliseconds, CancellationToken stop)
    {
        try
        {
            await Task.Delay(milliseconds, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task EventuallyAsync(Func<Task> action, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await action();
                return;
            }
            catch (GrpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            catch (GrpcException e)
            {
                throw new TimeoutException($"{what} did not succeed within 30 s: {e.Status} {e.Message}", e);
            }
        }
    }
}
