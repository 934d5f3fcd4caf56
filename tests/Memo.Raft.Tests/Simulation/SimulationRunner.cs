using System.Globalization;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// Chooses which seeds a simulation test runs: MEMO_SIM_SEED=&lt;seed&gt; replays exactly one run (with a trace);
/// otherwise MEMO_SIM_RUNS seeds (default given by the test) from MEMO_SIM_SEED_BASE (default fixed, for CI).
/// </summary>
public static class SimulationRunner
{
    public const ulong DefaultSeedBase = 20_250_000;

    public static IReadOnlyList<ulong> Seeds(int defaultRuns, int shard = 0, int shards = 1, ulong defaultSeedBase = DefaultSeedBase)
    {
        if (Environment.GetEnvironmentVariable("MEMO_SIM_SEED") is { Length: > 0 } one)
        {
            return shard == 0 ? [ulong.Parse(one, CultureInfo.InvariantCulture)] : [];
        }

        var runs = Environment.GetEnvironmentVariable("MEMO_SIM_RUNS") is { Length: > 0 } r ? int.Parse(r, CultureInfo.InvariantCulture) : defaultRuns;
        var seedBase = Environment.GetEnvironmentVariable("MEMO_SIM_SEED_BASE") is { Length: > 0 } b ? ulong.Parse(b, CultureInfo.InvariantCulture) : defaultSeedBase;
        return Enumerable.Range(0, runs).Where(i => i % shards == shard).Select(i => seedBase + (ulong)i).ToList();
    }

    public static bool Replaying => Environment.GetEnvironmentVariable("MEMO_SIM_SEED") is { Length: > 0 };

    /// <summary>Runs the seeds; returns the failed results (each prints its seed and the replay variable).</summary>
    public static List<SimulationResult> RunAll(IEnumerable<ulong> seeds, SimulationOptions options, ITestOutputHelper output)
    {
        var failures = new List<SimulationResult>();
        var count = 0;
        var lincheckTimeouts = 0;
        foreach (var seed in seeds)
        {
            var simulation = new Simulation(seed, options with { Trace = Replaying });
            var result = simulation.Run();
            count++;
            if (result.LinearizabilityTimedOut)
            {
                lincheckTimeouts++;
            }

            if (Replaying)
            {
                output.WriteLine(simulation.Trace);
                output.WriteLine(result.ToString());
            }

            if (result.Failed)
            {
                output.WriteLine(result.ToString());
                failures.Add(result);
            }
        }

        output.WriteLine($"{count} seeds run, {failures.Count} failed, {lincheckTimeouts} linearizability checks timed out");
        return failures;
    }
}
