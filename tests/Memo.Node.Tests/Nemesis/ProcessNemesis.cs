using System.Diagnostics;
using System.Globalization;
using Memo.Protocol.Client;
using Memo.Testing;
using Memo.Testing.Linearizability;
using Memo.Testing.Nemesis;

namespace Memo.Node.Tests.Nemesis;

/// <summary>A run of the process nemesis.</summary>
/// <param name="Seed">Seeds the schedule, the proxies and the clients.</param>
/// <param name="Nodes">Node processes (3 or more).</param>
/// <param name="Duration">Steps keep starting until this much time has passed (at least one full round runs).</param>
/// <param name="Root">Folder for the nodes' data folders.</param>
/// <param name="StaleReads">Runs the nodes with <c>memo.kvs.read-consistency = stale</c> (the control whose history
/// must be rejected).</param>
/// <param name="Faults">The fault kinds to draw (all when null).</param>
/// <param name="ReadPercent">Share of reads in the clients' mix.</param>
/// <param name="Resets">Whether slow-link steps also reset connections. On unless <c>MEMO_NEMESIS_RESETS=off</c> (they
/// were off until the unreachable-pair bug they exposed was fixed, docs/testing.md).</param>
public sealed record NemesisOptions(int Seed, int Nodes, TimeSpan Duration, string Root, bool StaleReads = false,
    IReadOnlyList<NemesisFault>? Faults = null, int ReadPercent = 50, bool Resets = true)
{
    /// <summary>Raft tick of the nodes (a short one, so elections and the faults' effects come quickly).</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    /// <summary>The nodes' election timeout: <c>memo.raft.election-ticks</c> (10) ticks, randomised up to twice that.</summary>
    public static readonly TimeSpan ElectionTimeout = Tick * 20;

    /// <summary>Reads the options from the environment: <c>MEMO_NEMESIS_SEED</c>, <c>MEMO_NEMESIS_SECONDS</c>,
    /// <c>MEMO_NEMESIS_NODES</c>, <c>MEMO_NEMESIS_FAULTS</c> (kinds, comma-separated), <c>MEMO_NEMESIS_RESETS</c> (off
    /// turns connection resets off), with the given defaults (a fresh seed when unset, every kind, resets on).</summary>
    public static NemesisOptions FromEnvironment(string root, int defaultNodes, TimeSpan defaultDuration)
    {
        static int? Read(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : null;
        var faults = Environment.GetEnvironmentVariable("MEMO_NEMESIS_FAULTS") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Enum.Parse<NemesisFault>).ToList()
            : null;
        return new NemesisOptions(Read("MEMO_NEMESIS_SEED") ?? Random.Shared.Next(1, 1_000_000), Read("MEMO_NEMESIS_NODES") ?? defaultNodes,
            Read("MEMO_NEMESIS_SECONDS") is { } seconds ? TimeSpan.FromSeconds(seconds) : defaultDuration, root, Faults: faults,
            Resets: !string.Equals(Environment.GetEnvironmentVariable("MEMO_NEMESIS_RESETS"), "off", StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>What a run did and found.</summary>
/// <param name="Check">The checker's verdict.</param>
/// <param name="CheckerTime">How long the check took.</param>
/// <param name="Operations">Client operations (final reads excluded).</param>
/// <param name="Ok">Of which completed with a known result.</param>
/// <param name="Unknown">Of which ended with an unknown outcome.</param>
/// <param name="Applied">Faults applied, by kind.</param>
/// <param name="UnreadableKeys">Keys a node could not read after the final heal.</param>
/// <param name="LostWrites">Acknowledged writes missing at the end.</param>
/// <param name="RecoveryFailure">Why the cluster did not serve again after a step (the schedule stopped there), or null.</param>
/// <param name="Summary">Figures for the test output.</param>
public sealed record NemesisReport(LinearizabilityResult Check, TimeSpan CheckerTime, int Operations, int Ok, int Unknown,
    IReadOnlyDictionary<NemesisFault, int> Applied, IReadOnlyList<string> UnreadableKeys, IReadOnlyList<string> LostWrites, string? RecoveryFailure, string Summary)
{
    /// <summary>Share of client operations that completed with a known result.</summary>
    public double SuccessShare => Operations == 0 ? 0 : (double)Ok / Operations;
}

/// <summary>
/// The real-process nemesis: node processes behind link proxies, clients recording a history through the public API,
/// and a seeded, printed schedule of kills (one node, a majority, every node), pauses, partitions (a minority, the
/// leader, a one-way cut) and slow links. After the schedule every fault is healed and every node runs; the clients
/// stop and every key is read through every node. The history is then checked. Each step waits for the cluster to
/// serve again (every member Up and reachable on every node) before the next; a step that cannot recover fails the run.
/// </summary>
public sealed class ProcessNemesis(NemesisOptions options, Action<string> log)
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan Effect = TimeSpan.FromSeconds(20);

    // How long a whole-cluster restart may take to re-form by itself before the run counts it as not re-formed (the
    // rule waits at most its 10 s silence bound for a slow lower member; a loaded machine starts processes slowly).
    private static readonly TimeSpan Reform = TimeSpan.FromSeconds(60);

    private readonly Dictionary<NemesisFault, int> _applied = [];
    private readonly List<string> _notes = [];
    private int _reformedAlone;
    private int _notReformed;
    private int _bitten;
    private int _leaderFaults;

    /// <summary>The node settings of a run (beside the ports each node gets). <c>MEMO_NEMESIS_TRANSPORT</c> (akka or tcp)
    /// sets <c>memo.peer.transport</c>; unset, the nodes run the default.</summary>
    public static string[] NodeSettings(bool staleReads) =>
    [
        "--shards", "8",
        "--set", $"memo.raft.tick-interval={(int)NemesisOptions.Tick.TotalMilliseconds}ms",
        // Nobody is evicted: a minority that stays cut off, or a node that is dead for a while, comes back as itself.
        "--set", "memo.network.eviction-delay=1h",
        "--set", $"memo.kvs.read-consistency={(staleReads ? "stale" : "linearizable")}",
        .. InProcessCluster.FastAkkaCluster.SelectMany(setting => new[] { "--set", setting.Replace(" = ", "=", StringComparison.Ordinal) }),
        .. Environment.GetEnvironmentVariable("MEMO_NEMESIS_TRANSPORT") is { Length: > 0 } transport ? ["--set", $"memo.peer.transport={transport}"] : Array.Empty<string>(),
    ];

    /// <summary>Runs the nemesis and checks the history.</summary>
    public async Task<NemesisReport> RunAsync()
    {
        // Planned generously (a step takes more than 2 s: its hold, then the recovery); steps stop with the time.
        var kinds = options.Faults ?? NemesisSchedule.AllFaults;
        var rounds = Math.Max(1, (int)Math.Ceiling(options.Duration.TotalSeconds / (2.0 * kinds.Count)));
        var steps = NemesisSchedule.Plan(options.Seed, options.Nodes, rounds, NemesisOptions.ElectionTimeout, kinds);
        var shown = steps.Take(2 * kinds.Count).ToList();
        log($"process nemesis: seed {options.Seed} (MEMO_NEMESIS_SEED={options.Seed} replays the schedule; thread timing still varies), " +
            $"{options.Nodes} nodes, {options.Duration.TotalSeconds:0} s{(options.StaleReads ? ", STALE READS" : "")}; schedule (steps start until the time is up, the first round always runs):\n" +
            NemesisSchedule.Describe(shown) + (steps.Count > shown.Count ? $"  ... {steps.Count} steps planned; each is printed as it starts\n" : ""));
        var wall = Stopwatch.StartNew();
        await using var cluster = await NemesisCluster.StartAsync(options.Root, options.Nodes, NodeSettings(options.StaleReads), options.Seed, Recovery).ConfigureAwait(false);
        log($"{wall.Elapsed.TotalSeconds:0.0} s: {options.Nodes} nodes Up");
        var clients = Enumerable.Range(0, options.Nodes)
            .Select(i => new MemoClient(cluster.ApiAddress(i), new MemoClientOptions { Timeout = TimeSpan.FromSeconds(1.5) }))
            .ToArray();
        try
        {
            var workload = new NemesisWorkload(clients, options.ReadPercent);
            using var stop = new CancellationTokenSource();
            var clientCount = 2 * options.Nodes;
            var workers = Enumerable.Range(1, clientCount)
                .Select(c => Task.Run(() => workload.RunClientAsync(c, (options.Seed * 31) + c, stop.Token)))
                .ToList();
            var faultTime = Stopwatch.StartNew();
            string? recovery = null;
            try
            {
                for (var i = 0; i < steps.Count && (i < kinds.Count || faultTime.Elapsed < options.Duration); i++)
                {
                    log($"{wall.Elapsed.TotalSeconds:0.0} s: step {i + 1}: {steps[i]}");
                    await ApplyAsync(cluster, steps[i], new Random(options.Seed + i), options.Resets).ConfigureAwait(false);
                    _applied[steps[i].Fault] = _applied.GetValueOrDefault(steps[i].Fault) + 1;
                    try
                    {
                        await cluster.WaitMembersUpAsync(Recovery).ConfigureAwait(false);
                    }
                    catch (TimeoutException e)
                    {
                        // The schedule stops here, but the history recorded so far is still read out and checked:
                        // a cluster that cannot re-converge must not hide what it did to the data meanwhile.
                        recovery = $"after step {i + 1} ({steps[i]}): {e.Message}";
                        log($"{wall.Elapsed.TotalSeconds:0.0} s: NO RECOVERY {recovery}");
                        break;
                    }
                    // The clients run on a healed cluster for a moment between faults.
                    await Task.Delay(1000).ConfigureAwait(false);
                }
            }
            finally
            {
                cluster.Faults.HealAll();
                for (var node = 0; node < cluster.Count; node++)
                {
                    cluster.Resume(node);
                }
            }
            if (recovery is null)
            {
                try
                {
                    await cluster.WaitMembersUpAsync(Recovery).ConfigureAwait(false);
                }
                catch (TimeoutException e)
                {
                    recovery = $"after the final heal: {e.Message}";
                }
            }
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);
            log($"{wall.Elapsed.TotalSeconds:0.0} s: schedule done, healed, clients stopped; reading every key through every node");

            // Every key through every node, after healing and with the clients stopped.
            var unreadable = new List<string>();
            var keys = workload.Keys;
            var failing = new HashSet<int>();
            foreach (var key in keys)
            {
                for (var node = 0; node < cluster.Count; node++)
                {
                    // A node that could not serve one final read within a minute gets 5 s for each other key.
                    var bound = failing.Contains(node) ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(60);
                    if (!await workload.FinalReadAsync(1000 + node, key, node, bound).ConfigureAwait(false))
                    {
                        unreadable.Add($"{key} through node {node}");
                        failing.Add(node);
                    }
                }
            }
            var operations = workload.History.Operations;
            var timer = Stopwatch.StartNew();
            var check = LinearizabilityChecker.Check(operations, TimeSpan.FromSeconds(120));
            var checkerTime = timer.Elapsed;
            if (!check.IsLinearizable && check.Key is { } failed)
            {
                // The whole sub-history of the key, in invocation order, to read the failure against the schedule.
                log($"history of key {failed}:\n  " + string.Join("\n  ", operations.Where(o => o.Key == failed).Take(400)));
            }
            var lost = AcknowledgedWrites.Lost(operations, keys, o => o.ClientId >= 1000);
            var ofClients = operations.Where(o => o.ClientId < 1000).ToList();
            var ok = ofClients.Count(o => o.Outcome == HistoryOutcome.Ok);
            var unknown = ofClients.Count(o => o.Outcome == HistoryOutcome.Unknown);
            var proxies = cluster.ProxyCounts;
            List<string> lines =
            [
                $"seed {options.Seed}{(options.StaleReads ? " (stale reads)" : "")}, {options.Nodes} nodes, {wall.Elapsed.TotalSeconds:0} s wall, {faultTime.Elapsed.TotalSeconds:0} s of faults",
                $"operations: {ofClients.Count} by {clientCount} clients on {keys.Count} keys, {ok} ok ({(ofClients.Count == 0 ? 0 : (double)ok / ofClients.Count):P0}), " +
                $"{unknown} unknown, {ofClients.Count(o => o.Outcome == HistoryOutcome.Failed)} failed; by kind: " +
                string.Join(", ", ofClients.GroupBy(o => o.Kind).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count(o => o.Outcome == HistoryOutcome.Ok)}/{g.Count()}")),
                $"faults applied: {string.Join(", ", _applied.OrderBy(a => a.Key).Select(a => $"{a.Key} {a.Value}"))}; leader faults that bit (new leaders elsewhere within {Effect.TotalSeconds:0} s): {_bitten}/{_leaderFaults}",
                $"whole-cluster restarts: re-formed alone {_reformedAlone}, not re-formed within {Reform.TotalSeconds:0} s {_notReformed}",
                $"proxies: {proxies.Accepted} connections ({proxies.Unattributed} not from a node), {proxies.Resets} reset, {proxies.Stalls} stalls, {proxies.Bytes / (1 << 20)} MiB",
                $"checker: {checkerTime.TotalMilliseconds:0} ms, {(check.IsLinearizable ? "linearizable" : check.TimedOut ? "TIMED OUT" : "NOT LINEARIZABLE")}; " +
                $"unreadable keys {unreadable.Count}, lost writes {lost.Count}",
                .. _notes,
                .. recovery is null ? Array.Empty<string>() : [$"NO RECOVERY {recovery.Split('\n')[0]}"],
            ];
            var summary = string.Join("\n", lines);
            return new NemesisReport(check, checkerTime, ofClients.Count, ok, unknown, _applied, unreadable, lost, recovery, summary);
        }
        catch (Exception e) when (e is not TimeoutException)
        {
            throw new InvalidOperationException($"seed {options.Seed}: {e.Message}\n{cluster.Outputs()}", e);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private async Task ApplyAsync(NemesisCluster cluster, NemesisStep step, Random random, bool resets)
    {
        var all = Enumerable.Range(0, cluster.Count).ToList();
        switch (step.Fault)
        {
            case NemesisFault.KillOne:
            case NemesisFault.KillMajority:
                await Task.WhenAll(step.Victims.Select(cluster.KillAsync)).ConfigureAwait(false);
                await Task.Delay(step.Hold).ConfigureAwait(false);
                await Task.WhenAll(step.Victims.Select(cluster.RestartAsync)).ConfigureAwait(false);
                break;
            case NemesisFault.KillAll:
                await Task.WhenAll(all.Select(cluster.KillAsync)).ConfigureAwait(false);
                await Task.Delay(step.Hold).ConfigureAwait(false);
                await Task.WhenAll(all.Select(cluster.RestartAsync)).ConfigureAwait(false);
                await ReformAsync(cluster).ConfigureAwait(false);
                break;
            case NemesisFault.Pause:
                cluster.Pause(step.Victims[0]);
                try
                {
                    await Task.Delay(step.Hold).ConfigureAwait(false);
                }
                finally
                {
                    cluster.Resume(step.Victims[0]);
                }
                break;
            case NemesisFault.SplitMinority:
                cluster.Faults.Partition(step.Victims, all.Except(step.Victims));
                await HoldAndHealAsync(cluster, step.Hold).ConfigureAwait(false);
                break;
            case NemesisFault.IsolateLeader:
            case NemesisFault.OneWayCut:
                var (leader, led) = await MostLeadingAsync(cluster).ConfigureAwait(false);
                foreach (var other in all.Where(n => n != leader))
                {
                    cluster.Faults.Set(leader, other, LinkFault.Severed);
                    if (step.Fault == NemesisFault.IsolateLeader)
                    {
                        cluster.Faults.Set(other, leader, LinkFault.Severed);
                    }
                }
                log($"  node {leader} leads {led.Count} group(s): {cluster.Faults}");
                await WaitForNewLeadersAsync(cluster, leader, led).ConfigureAwait(false);
                await HoldAndHealAsync(cluster, step.Hold).ConfigureAwait(false);
                break;
            case NemesisFault.SlowLinks:
                foreach (var from in all)
                {
                    foreach (var to in all.Where(t => t != from))
                    {
                        cluster.Faults.Set(from, to, step.Links!);
                    }
                }
                var resetAt = Enumerable.Range(0, resets ? step.Resets : 0).Select(_ => step.Hold * random.NextDouble()).Order().ToList();
                var held = Stopwatch.StartNew();
                foreach (var at in resetAt)
                {
                    if (at > held.Elapsed)
                    {
                        await Task.Delay(at - held.Elapsed).ConfigureAwait(false);
                    }
                    var node = random.Next(cluster.Count);
                    log($"  reset {cluster.Reset(node)} connection(s) into node {node}");
                }
                await HoldAndHealAsync(cluster, step.Hold - held.Elapsed).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.Fault, "unknown fault");
        }
    }

    private static async Task HoldAndHealAsync(NemesisCluster cluster, TimeSpan hold)
    {
        if (hold > TimeSpan.Zero)
        {
            await Task.Delay(hold).ConfigureAwait(false);
        }
        cluster.Faults.HealAll();
    }

    // Every node restarted at once: the recorded members ask each other and the lowest of a majority that is in no
    // cluster forms it again (RestartFormation); no operator joins. The recovery wait after the step then requires
    // every member Up on every node.
    private async Task ReformAsync(NemesisCluster cluster)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Reform)
        {
            for (var node = 0; node < cluster.Count; node++)
            {
                if (await cluster.ShowAsync(node).ConfigureAwait(false) is { } show && show.Members.Any(m => m.Status == "up"))
                {
                    _reformedAlone++;
                    log($"  the cluster re-formed by itself ({clock.Elapsed.TotalSeconds:0.0} s after every node restarted; node {node} answered first)");
                    return;
                }
            }
            await Task.Delay(250).ConfigureAwait(false);
        }
        _notReformed++;
        log($"  no member Up {Reform.TotalSeconds:0} s after every node restarted");
    }

    // The node leading the most shard groups, each group's leader as that leader itself reports it.
    internal static async Task<(int Node, List<int> Led)> MostLeadingAsync(NemesisCluster cluster)
    {
        var led = new Dictionary<int, List<int>>();
        for (var node = 0; node < cluster.Count; node++)
        {
            if (await cluster.ShardLeadersAsync(node).ConfigureAwait(false) is { } leaders)
            {
                led[node] = leaders.Where(l => l.Value == node).Select(l => l.Key).ToList();
            }
        }
        var most = led.MaxBy(l => l.Value.Count);
        return (most.Key, most.Value);
    }

    // The fault has bitten when every group the victim led reports a leader on another node (asked of the others).
    private async Task WaitForNewLeadersAsync(NemesisCluster cluster, int victim, List<int> led)
    {
        _leaderFaults++;
        var deadline = DateTime.UtcNow + Effect;
        var remaining = led.ToHashSet();
        while (remaining.Count > 0 && DateTime.UtcNow < deadline)
        {
            for (var node = 0; node < cluster.Count; node++)
            {
                if (node != victim && await cluster.ShardLeadersAsync(node).ConfigureAwait(false) is { } leaders)
                {
                    remaining.RemoveWhere(s => leaders.TryGetValue(s, out var l) && l >= 0 && l != victim);
                }
            }
        }
        if (remaining.Count == 0)
        {
            _bitten++;
            log($"  every group node {victim} led has a leader elsewhere");
        }
        else
        {
            var note = $"  {remaining.Count} group(s) node {victim} led had no leader elsewhere within {Effect.TotalSeconds:0} s";
            _notes.Add(note);
            log(note);
        }
    }
}
