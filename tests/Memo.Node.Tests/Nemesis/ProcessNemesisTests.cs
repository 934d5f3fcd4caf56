using Memo.Testing.Nemesis;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Nemesis;

/// <summary>
/// The real-process nemesis (<see cref="ProcessNemesis"/>): node processes behind TCP proxies on their remoting ports,
/// killed (one, a majority, all at once), paused, partitioned and slowed on a seeded, printed schedule while clients
/// record a history through the public API. The run must be linearizable (a checker that runs out of time fails it),
/// make progress, read every key through every node after the final heal, and keep every acknowledged write. Its
/// control runs the same harness with stale reads allowed and must be rejected by the checker: the check has teeth.
/// <c>MEMO_NEMESIS_SEED</c>, <c>MEMO_NEMESIS_SECONDS</c> and <c>MEMO_NEMESIS_NODES</c> replay or lengthen a run
/// (docs/testing.md).
/// </summary>
public sealed class ProcessNemesisTests(ITestOutputHelper output) : IDisposable
{
    // Well below what runs reach (most operations overlap no fault), yet a cluster that stays down through the
    // schedule, or serves only a trickle, cannot pass.
    private const double MinimumSuccessShare = 0.3;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-nemesis-" + Guid.NewGuid().ToString("n"));

    [Fact]
    public async Task Node_processes_under_kills_pauses_partitions_and_slow_links_stay_linearizable_and_keep_acknowledged_writes()
    {
        var options = NemesisOptions.FromEnvironment(_root, defaultNodes: 3, defaultDuration: TimeSpan.FromSeconds(75));
        var report = await new ProcessNemesis(options, output.WriteLine).RunAsync();
        output.WriteLine(report.Summary);
        var replay = $"seed {options.Seed} (MEMO_NEMESIS_SEED={options.Seed})";
        Assert.True(report.RecoveryFailure is null, $"{replay}: the cluster did not recover {report.RecoveryFailure}");
        Assert.False(report.Check.TimedOut, $"{replay}: the checker ran out of time, so nothing was proven: {report.Check.Explanation}");
        Assert.True(report.Check.IsLinearizable, $"{replay}: {report.Check.Explanation}");
        Assert.True(report.SuccessShare >= MinimumSuccessShare, $"{replay}: only {report.SuccessShare:P0} of operations succeeded (floor {MinimumSuccessShare:P0})\n{report.Summary}");
        Assert.True(report.UnreadableKeys.Count == 0, $"{replay}: keys not readable after the final heal: {string.Join(", ", report.UnreadableKeys)}");
        Assert.True(report.LostWrites.Count == 0, $"{replay}: acknowledged writes lost: {string.Join("; ", report.LostWrites)}");
        Assert.All(options.Faults ?? NemesisSchedule.AllFaults, fault => Assert.True(report.Applied.GetValueOrDefault(fault) > 0, $"{replay}: {fault} was never applied"));
    }

    [Fact]
    public async Task With_stale_reads_allowed_the_checker_rejects_a_history()
    {
        var first = NemesisOptions.FromEnvironment(_root, defaultNodes: 3, defaultDuration: TimeSpan.FromSeconds(20));
        for (var attempt = 0; attempt < 3; attempt++)
        {
            // Partitions and pauses leave a replica behind while it still answers; reads through it then go stale.
            var options = first with
            {
                Seed = first.Seed + attempt,
                Root = Path.Combine(_root, $"stale{attempt}"),
                StaleReads = true,
                Faults = [NemesisFault.SplitMinority, NemesisFault.IsolateLeader, NemesisFault.Pause],
                ReadPercent = 70,
            };
            var report = await new ProcessNemesis(options, output.WriteLine).RunAsync();
            output.WriteLine(report.Summary);
            if (!report.Check.IsLinearizable && !report.Check.TimedOut)
            {
                output.WriteLine($"seed {options.Seed}: rejected as expected: {report.Check.Explanation}");
                return;
            }
        }
        Assert.Fail($"stale reads were never caught in 3 runs from seed {first.Seed}: the check has no teeth here");
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
