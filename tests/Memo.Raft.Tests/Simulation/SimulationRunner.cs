using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// Chooses which seeds a simulation test runs and runs them.
/// <list type="bullet">
/// <item>MEMO_SIM_SEED=&lt;seed&gt; replays exactly that run (with a trace) in every simulation test.</item>
/// <item>Fixed seeds (the same every run, so CI compares like with like): MEMO_SIM_RUNS of them (default given by
/// the test) from MEMO_SIM_SEED_BASE (default <see cref="DefaultSeedBase"/>).</item>
/// <item>Fresh seeds (new every run, so CI keeps exploring): MEMO_SIM_SEEDS of them (default given by the test)
/// from a base drawn once per process and printed; MEMO_SIM_FRESH_BASE=&lt;base&gt; replays a whole fresh batch.</item>
/// </list>
/// </summary>
public static class SimulationRunner
{
    public const ulong DefaultSeedBase = 20_250_000;

    // Fresh bases start far above the fixed ranges so the two never overlap.
    private const ulong FreshBaseFloor = 1UL << 40;

    private static readonly Lazy<ulong> DrawnFreshBase = new(() =>
        Environment.GetEnvironmentVariable("MEMO_SIM_FRESH_BASE") is { Length: > 0 } b
            ? ulong.Parse(b, CultureInfo.InvariantCulture)
            : FreshBaseFloor + (ulong)Random.Shared.NextInt64(1L << 50));

    public static bool Replaying => Environment.GetEnvironmentVariable("MEMO_SIM_SEED") is { Length: > 0 };

    /// <summary>The base of this process's fresh seeds (drawn once, shared by every fresh batch and shard).</summary>
    public static ulong FreshSeedBase => DrawnFreshBase.Value;

    /// <summary>The fixed seeds of one shard (a contiguous block of the <c>runs</c> seeds).</summary>
    public static SeedBatch FixedSeeds(int defaultRuns, int shard = 0, int shards = 1, ulong defaultSeedBase = DefaultSeedBase)
    {
        if (ReplayBatch(shard) is { } replay)
        {
            return replay;
        }

        var runs = EnvInt("MEMO_SIM_RUNS") ?? defaultRuns;
        var seedBase = Environment.GetEnvironmentVariable("MEMO_SIM_SEED_BASE") is { Length: > 0 } b ? ulong.Parse(b, CultureInfo.InvariantCulture) : defaultSeedBase;
        return Shard($"fixed seeds from {seedBase}", seedBase, runs, shard, shards, "");
    }

    /// <summary>Fresh seeds of one shard, new in every test process (see the type's remarks).</summary>
    public static SeedBatch FreshSeeds(int defaultRuns, int shard = 0, int shards = 1)
    {
        if (ReplayBatch(shard) is { } replay)
        {
            return replay;
        }

        var runs = EnvInt("MEMO_SIM_SEEDS") ?? defaultRuns;
        var seedBase = FreshSeedBase;
        return Shard($"fresh seeds from {seedBase}", seedBase, runs, shard, shards, $"; the whole batch again: MEMO_SIM_FRESH_BASE={seedBase}");
    }

    /// <summary>
    /// Runs the seeds and gathers their results; the caller asserts on the batch. <paramref name="replayTest"/> is the
    /// fully qualified name of the test that replays one of these seeds under MEMO_SIM_SEED with the same options:
    /// the first shard's test of a sharded batch (a replay runs only there), and it goes into every replay command
    /// printed, so copying one replays the seed.
    /// </summary>
    public static SimulationBatch RunAll(SeedBatch seeds, SimulationOptions options, ITestOutputHelper output, string replayTest)
    {
        output.WriteLine($"{seeds.Origin}: {seeds.Expected} seed(s) planned; replay one with {ReplayCommand("<seed>", replayTest)}{seeds.ReplayHint}");
        var batch = new SimulationBatch(seeds, replayTest);
        var stopwatch = Stopwatch.StartNew();
        foreach (var seed in seeds.Seeds)
        {
            var simulation = new Simulation(seed, options with { Trace = Replaying });
            var result = simulation.Run();
            batch.Add(result);
            if (Replaying)
            {
                output.WriteLine(simulation.Trace);
                output.WriteLine(result.ToString());
            }

            if (result.Failed)
            {
                output.WriteLine($"{result}\n  replay: {ReplayCommand(seed.ToString(CultureInfo.InvariantCulture), replayTest)}");
            }
        }

        batch.Elapsed = stopwatch.Elapsed;
        output.WriteLine(batch.Summary);
        return batch;
    }

    /// <summary>The fully qualified name of a test method, as <c>dotnet test --filter FullyQualifiedName=</c> takes it.</summary>
    public static string TestName<TTest>(string method) => $"{typeof(TTest).FullName}.{method}";

    /// <summary>The shell command that replays <paramref name="seed"/> with a trace in exactly <paramref name="replayTest"/>.</summary>
    public static string ReplayCommand(string seed, string replayTest) =>
        $"MEMO_SIM_SEED={seed} dotnet test tests/Memo.Raft.Tests -c Release --filter \"FullyQualifiedName={replayTest}\" --logger \"console;verbosity=detailed\"";

    private static SeedBatch? ReplayBatch(int shard) =>
        Environment.GetEnvironmentVariable("MEMO_SIM_SEED") is { Length: > 0 } one
            ? shard == 0
                ? new SeedBatch([ulong.Parse(one, CultureInfo.InvariantCulture)], 1, $"replay of seed {one}", "")
                : new SeedBatch([], 0, $"replay of seed {one} (runs in shard 0)", "")
            : null;

    private static SeedBatch Shard(string origin, ulong seedBase, int runs, int shard, int shards, string replayHint)
    {
        if (runs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(runs), runs, "a simulation batch must run at least one seed");
        }

        // Contiguous blocks, not every n-th seed: the profile rotation is the seed modulo the profile count, and a
        // stride would give each shard only some of the profiles.
        var expected = runs / shards + (shard < runs % shards ? 1 : 0);
        var first = shard * (runs / shards) + Math.Min(shard, runs % shards);
        var seeds = Enumerable.Range(first, expected).Select(i => seedBase + (ulong)i).ToList();
        return new SeedBatch(seeds, expected, $"{origin} (shard {shard + 1}/{shards} of {runs})", replayHint);
    }

    private static int? EnvInt(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}

/// <summary>The seeds a test means to run.</summary>
/// <param name="Expected">How many runs must complete for the batch to count (0 only for a replay's other shards).</param>
/// <param name="ReplayHint">How to replay the whole batch, appended to the printed plan.</param>
public sealed record SeedBatch(IReadOnlyList<ulong> Seeds, int Expected, string Origin, string ReplayHint);

/// <summary>The results of a batch of runs, with the assertions every simulation test makes on them.</summary>
/// <param name="replayTest">The test that replays one of the seeds (see <see cref="SimulationRunner.RunAll"/>).</param>
public sealed class SimulationBatch(SeedBatch planned, string replayTest)
{
    private readonly Dictionary<FaultProfile, int> _profiles = [];
    private readonly List<SimulationResult> _failures = [];

    /// <summary>The seeds the test meant to run.</summary>
    public SeedBatch Planned { get; } = planned;

    /// <summary>Runs that completed (each added through <see cref="Add"/>).</summary>
    public int Ran { get; private set; }

    public IReadOnlyList<SimulationResult> Failures => _failures;

    /// <summary>Runs per fault profile.</summary>
    public IReadOnlyDictionary<FaultProfile, int> Profiles => _profiles;

    /// <summary>Faults applied, summed over the runs.</summary>
    public FaultCounts Faults { get; private set; } = FaultCounts.None;

    /// <summary>Runs whose linearizability check ran out of budget (each is also a failure).</summary>
    public int LinearizabilityTimeouts { get; private set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>One line for the test output: runs, failures, time, profiles drawn and faults applied.</summary>
    public string Summary =>
        $"{Ran} seeds run of {Planned.Expected} planned, {_failures.Count} failed, {LinearizabilityTimeouts} linearizability checks timed out, {Elapsed.TotalSeconds:F1} s; "
        + $"profiles: {string.Join(", ", _profiles.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}; faults: {Faults}";

    public void Add(SimulationResult result)
    {
        Ran++;
        _profiles[result.Profile] = _profiles.GetValueOrDefault(result.Profile) + 1;
        Faults = Faults.Plus(result.Faults);
        if (result.LinearizabilityTimedOut)
        {
            LinearizabilityTimeouts++;
        }

        if (result.Failed)
        {
            _failures.Add(result);
        }
    }

    /// <summary>Every planned seed ran (a batch that ran none or only some proves nothing) and none failed.</summary>
    public void AssertPassed()
    {
        Assert.True(Ran == Planned.Expected, $"{Planned.Origin}: {Ran} seeds ran, {Planned.Expected} expected");
        Assert.True(
            _failures.Count == 0,
            $"{_failures.Count} of {Ran} seeds failed ({Planned.Origin}{Planned.ReplayHint}):\n"
            + string.Join("\n", _failures.Select(f => $"{f}\n  replay: {SimulationRunner.ReplayCommand(f.Seed.ToString(CultureInfo.InvariantCulture), replayTest)}")));
    }

    /// <summary>Every profile of the rotation was drawn at least once (skipped when replaying one seed).</summary>
    public void AssertEveryDrawnProfileRan()
    {
        if (SimulationRunner.Replaying)
        {
            return;
        }

        var missing = Simulation.DrawnProfiles.Where(p => !_profiles.ContainsKey(p)).ToList();
        Assert.True(missing.Count == 0, $"profiles never drawn in {Ran} seeds: {string.Join(", ", missing)}");
    }

    /// <summary>Every kind of fault the rotation claims to inject happened at least once (skipped when replaying one seed).</summary>
    public void AssertEveryFaultKindHappened()
    {
        if (SimulationRunner.Replaying)
        {
            return;
        }

        var counts = new Dictionary<string, int>
        {
            ["crashes"] = Faults.Crashes,
            ["crashes before a Ready's write"] = Faults.CrashesBeforeWrite,
            ["torn writes"] = Faults.TornWrites,
            ["crashes after a Ready's write"] = Faults.CrashesAfterWrite,
            ["pauses"] = Faults.Pauses,
            ["partitions"] = Faults.Partitions,
            ["replicas with skewed clocks"] = Faults.SkewedNodes,
        };
        var missing = counts.Where(c => c.Value == 0).Select(c => c.Key).ToList();
        Assert.True(missing.Count == 0, $"never happened in {Ran} seeds: {string.Join(", ", missing)}");
    }
}
