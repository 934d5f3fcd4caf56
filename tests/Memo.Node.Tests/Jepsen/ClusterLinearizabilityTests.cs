using System.Globalization;
using System.Text;
using Memo.Node.Cluster;
using Memo.Node.Transport;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Memo.Testing.Linearizability;
using Memo.Testing.PowerLoss;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Jepsen;

/// <summary>
/// Jepsen-style, in process: clients record a key-value history against a 3-node cluster while a nemesis runs a
/// FIXED schedule (the seed picks victims, tears and client choices, never whether a fault happens): the leader of
/// most shard groups isolated, a minority/majority split, a one-way cut (a leader that hears but cannot speak), and
/// two power-loss crashes (<see cref="PowerLossDisk"/>: what was not fsynced is gone, the last write may be torn;
/// one of them the leader's). Each fault waits for its effect (new leaders elsewhere; the node back and Up), so a
/// run cannot pass without the faults having bitten. Then every link heals, the clients stop, and every key is read
/// through every node. The test asserts: the history is linearizable (the checker finishing in time), a minimum
/// share of operations succeeded, every key was readable after healing, and no acknowledged write was lost (a final
/// value must come from a write no acknowledged write followed). The same schedule with stale reads allowed must be
/// caught, which shows the check has teeth. The seed is printed; <c>MEMO_JEPSEN_SEED</c> replays it (thread timing
/// still varies).
/// </summary>
public sealed class ClusterLinearizabilityTests(ITestOutputHelper output)
{
    private static readonly string[] Keys = ["x", "y", "z"];
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(30);

    // A floor well below what a healthy run reaches (about half the operations overlap a fault); a cluster that
    // stays unavailable through the schedule cannot pass.
    private const double MinimumSuccessShare = 0.2;

    [Fact]
    public async Task A_history_under_leader_isolation_split_one_way_cut_and_power_loss_is_linearizable_and_makes_progress()
    {
        var seed = Seed();
        var run = await RunAsync(seed, staleReads: false);
        output.WriteLine(run.Summary);
        Assert.False(run.Check.TimedOut, $"seed {seed}: the checker ran out of time, so nothing was proven: {run.Check.Explanation}");
        Assert.True(run.Check.IsLinearizable, $"seed {seed} (MEMO_JEPSEN_SEED={seed}): {run.Check.Explanation}");
        Assert.True(run.SuccessShare >= MinimumSuccessShare, $"seed {seed}: only {run.SuccessShare:P0} of operations succeeded (floor {MinimumSuccessShare:P0}): {run.Summary}");
        Assert.True(run.UnreadableKeys.Count == 0, $"seed {seed}: keys not readable after healing: {string.Join(", ", run.UnreadableKeys)}");
        Assert.True(run.LostWrites.Count == 0, $"seed {seed}: acknowledged writes lost: {string.Join("; ", run.LostWrites)}");
    }

    [Fact]
    public async Task With_stale_reads_allowed_the_checker_rejects_a_history()
    {
        var first = Seed();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var seed = first + attempt;
            var run = await RunAsync(seed, staleReads: true);
            output.WriteLine(run.Summary);
            if (!run.Check.IsLinearizable && !run.Check.TimedOut)
            {
                output.WriteLine($"seed {seed}: rejected as expected: {run.Check.Explanation}");
                return;
            }
        }
        Assert.Fail($"stale reads were never caught in 3 runs from seed {first}: the linearizability check has no teeth here");
    }

    private int Seed()
    {
        var seed = Environment.GetEnvironmentVariable("MEMO_JEPSEN_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next(1, 1_000_000);
        output.WriteLine($"seed {seed} (MEMO_JEPSEN_SEED={seed} replays the schedule's choices; thread timing still varies)");
        return seed;
    }

    private async Task<JepsenRun> RunAsync(int seed, bool staleReads)
    {
        var random = new Random(seed);
        string[] overrides = ["memo.raft.tick-interval = 20ms", "memo.network.replication-factor = 3", "memo.network.eviction-delay = 1h",
            $"memo.kvs.read-consistency = {(staleReads ? "stale" : "linearizable")}"];
        await using var cluster = await InProcessCluster.StartAsync(3, overrides, powerLossDisks: true);
        await cluster.WaitUntilAsync(nodes => nodes.Count == 3 && nodes.All(n => n.View.Membership.MembersIn(MemberStatus.Up).Count() == 3),
            "3 members Up on every node", Phase);
        // Three voters in every group before any fault: a group still adding its third replica as a learner has two
        // voters, and isolating one of them leaves it without a majority (no fault schedule could pass then).
        await cluster.WaitUntilAsync(nodes => ClusterData.ClusterDataTests.GroupsMatchRing(nodes, 3, 3), "every shard's group = its 3 ring replicas", Phase);
        var faults = new PeerFaultInjector();
        void Install()
        {
            foreach (var slot in cluster.Running)
            {
                slot.Running.PeerFaults = faults;
            }
        }
        Install();
        var clients = cluster.Nodes.Select(n => new MemoClient(n.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(2) })).ToArray();
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
                history.Ok(history.Invoke(0, key, KvOperationKind.Upsert, "init"));
            }

            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(1, 4).Select(c => Task.Run(() => ClientAsync(c, new Random(seed * 31 + c), clients, history, stop.Token))).ToList();
            var schedule = await NemesisAsync(cluster, faults, Install, random);
            faults.HealAll();
            stop.Cancel();
            await Task.WhenAll(workers);

            // After healing, with the clients stopped: every key through every node, into the history.
            var unreadable = new List<string>();
            foreach (var key in Keys)
            {
                for (var n = 0; n < clients.Length; n++)
                {
                    var id = history.Invoke(100 + n, key, KvOperationKind.Read, null);
                    try
                    {
                        var value = await EventuallyAsync(() => clients[n].FetchAsync(key), $"final read of {key} through node {n}");
                        history.Ok(id, value is null ? null : Encoding.UTF8.GetString(value));
                    }
                    catch (TimeoutException e)
                    {
                        unreadable.Add($"{key} through node {n}: {e.Message}");
                    }
                }
            }
            var operations = history.Operations;
            var clientOperations = operations.Where(o => o.ClientId is > 0 and < 100).ToList();
            var ok = clientOperations.Count(o => o.Outcome == HistoryOutcome.Ok);
            var timer = System.Diagnostics.Stopwatch.StartNew();
            var check = LinearizabilityChecker.Check(operations, TimeSpan.FromSeconds(60));
            var summary = $"seed {seed}{(staleReads ? " (stale reads)" : "")}: {clientOperations.Count} client operations, {ok} ok " +
                $"({(clientOperations.Count == 0 ? 0 : (double)ok / clientOperations.Count):P0}), " +
                $"{clientOperations.Count(o => o.Outcome == HistoryOutcome.Unknown)} unknown; checker {timer.ElapsedMilliseconds} ms; " +
                $"faults: {string.Join("; ", schedule)}";
            return new JepsenRun(check, clientOperations.Count == 0 ? 0 : (double)ok / clientOperations.Count, unreadable, AcknowledgedWrites.Lost(operations, Keys, o => o.ClientId >= 100), summary);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>
    /// The fixed schedule. Every step waits for its fault to bite (bounded; a timeout fails the run), holds it while
    /// the clients run, heals, and waits for the cluster to serve again. Returns what was done, for the summary.
    /// </summary>
    private async Task<List<string>> NemesisAsync(InProcessCluster cluster, PeerFaultInjector faults, Action install, Random random)
    {
        var done = new List<string>();
        var everyone = cluster.Nodes.Select(n => n.Running.NodeId).ToList();
        void Log(string step)
        {
            output.WriteLine($"nemesis {DateTime.UtcNow:HH:mm:ss.fff}: {step}");
            done.Add(step);
        }
        await HoldAsync(500);

        // 1. Leader isolation: the node leading the most groups loses both directions to both others.
        var leader = MostLeadingNode(cluster);
        var led = LedShards(cluster.Nodes[leader]);
        faults.Isolate(cluster.Nodes[leader].Running.NodeId, everyone);
        await WaitForNewLeadersAsync(cluster, leader, led, "leader isolation");
        Log($"isolated leader node {leader} (led {led.Count} group(s)); new leaders elected elsewhere");
        await HoldAsync(1000);
        faults.HealAll();
        await WaitServingAsync(cluster, "after leader isolation");

        // 2. Minority/majority split: one node (the seed picks which) alone against the other two; the majority side
        // keeps a leader for every group.
        var minority = random.Next(cluster.Nodes.Count);
        faults.Partition([cluster.Nodes[minority].Running.NodeId], everyone.Where(n => n != cluster.Nodes[minority].Running.NodeId));
        var minorityLed = LedShards(cluster.Nodes[minority]);
        if (minorityLed.Count > 0)
        {
            await WaitForNewLeadersAsync(cluster, minority, minorityLed, "minority/majority split");
        }
        Log($"split node {minority} | the other two (the minority led {minorityLed.Count} group(s))");
        await HoldAsync(1500);
        faults.HealAll();
        await WaitServingAsync(cluster, "after the split");

        // 3. One-way cut: the main leader still hears everyone but nothing it sends arrives.
        leader = MostLeadingNode(cluster);
        led = LedShards(cluster.Nodes[leader]);
        foreach (var other in everyone.Where(n => n != cluster.Nodes[leader].Running.NodeId))
        {
            faults.Block(cluster.Nodes[leader].Running.NodeId, other);
        }
        await WaitForNewLeadersAsync(cluster, leader, led, "one-way cut");
        Log($"one-way cut: node {leader} (led {led.Count} group(s)) cannot send; new leaders elected elsewhere");
        await HoldAsync(1000);
        faults.HealAll();
        await WaitServingAsync(cluster, "after the one-way cut");

        // 4. Power loss of a node the seed picks, then 5. of the main leader: the silo is not closed cleanly, its
        // disk keeps only what was fsynced (a prefix of the rest and a torn write in Tear mode).
        foreach (var (victim, mode) in new[] { (random.Next(cluster.Nodes.Count), PowerLossMode.TearUnsynced), (-1, PowerLossMode.DropUnsynced) })
        {
            var node = victim >= 0 ? victim : MostLeadingNode(cluster);
            var lost = await cluster.CutPowerAsync(node, mode, random);
            Log($"power loss on node {node}: {lost}");
            await HoldAsync(700);
            await cluster.RestartAsync(node);
            install();
            await WaitServingAsync(cluster, $"after node {node} restarted from its power loss");
        }
        await HoldAsync(500);
        return done;
    }

    private static bool EveryGroupHasALeader(InProcessCluster cluster)
    {
        var running = cluster.Running.ToList();
        var shardCount = running[0].View.Network.ShardCount;
        return Enumerable.Range(0, shardCount).All(s => running.Count(n => n.Running.Shards.TryGetReplica(new ShardId(s), out var r) && r.Status.IsLeader) >= 1);
    }

    private static List<ShardId> LedShards(InProcessCluster.Slot slot) =>
        slot.Running.Shards.Replicas.Where(r => r.Status.IsLeader).Select(r => r.Shard).ToList();

    private static int MostLeadingNode(InProcessCluster cluster) =>
        cluster.Nodes.Select((n, i) => (Index: i, Led: n.Node is null ? -1 : LedShards(n).Count)).MaxBy(p => p.Led).Index;

    // The fault has bitten when every group the victim led has a leader on another node.
    private static async Task WaitForNewLeadersAsync(InProcessCluster cluster, int victim, List<ShardId> led, string fault)
    {
        try
        {
            await cluster.WaitUntilAsync(_ => led.All(shard => cluster.Nodes.Where((n, i) => i != victim && n.Node is not null)
                    .Any(n => n.Running.Shards.TryGetReplica(shard, out var r) && r.Status.IsLeader)),
                $"{fault}: groups led by node {victim} elect a leader elsewhere", Phase);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\n" + Replicas(cluster), e);
        }
    }

    private static string Replicas(InProcessCluster cluster)
    {
        var text = new StringBuilder();
        foreach (var slot in cluster.Running)
        {
            foreach (var replica in slot.Running.Shards.Replicas.OrderBy(r => r.Shard))
            {
                text.Append("  node ").Append(slot.Index).Append(": ").AppendLine(replica.Status.ToString());
            }
        }
        return text.ToString();
    }

    private static async Task WaitServingAsync(InProcessCluster cluster, string phase)
    {
        await cluster.WaitUntilAsync(nodes => nodes.Count == cluster.Nodes.Count && nodes.All(n => n.View.Membership.MembersIn(MemberStatus.Up).Count() == cluster.Nodes.Count),
            $"{phase}: every member Up on every node", Phase);
        await cluster.WaitUntilAsync(_ => EveryGroupHasALeader(cluster), $"{phase}: every shard group has a leader", Phase);
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
                        history.Ok(id, read is null ? null : Encoding.UTF8.GetString(read));
                        break;
                    case KvOperationKind.Upsert:
                        await client.UpsertAsync(key, Encoding.UTF8.GetBytes(value));
                        history.Ok(id);
                        break;
                    case KvOperationKind.Insert:
                        history.Ok(id, applied: await client.InsertAsync(key, Encoding.UTF8.GetBytes(value)));
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

    // The schedule's pace while the clients run, not synchronisation: every step before it waited for its effect.
    private static Task HoldAsync(int milliseconds) => Task.Delay(milliseconds);

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> action, string what)
    {
        var deadline = DateTime.UtcNow + Phase;
        while (true)
        {
            try
            {
                return await action();
            }
            catch (GrpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            catch (GrpcException e)
            {
                throw new TimeoutException($"{what} did not succeed within {Phase}: {e.Status} {e.Message}", e);
            }
        }
    }

    private static Task EventuallyAsync(Func<Task> action, string what) => EventuallyAsync(async () =>
    {
        await action();
        return true;
    }, what);

    private sealed record JepsenRun(LinearizabilityResult Check, double SuccessShare, List<string> UnreadableKeys, List<string> LostWrites, string Summary);
}
