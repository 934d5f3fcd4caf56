using Xunit.Abstractions;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// The main correctness gate: many seeded runs of the simulator across fault profiles (partitions, crashes with
/// restart, loss/duplication/reordering, all together), each checked for Raft safety at every Ready, liveness after
/// healing, and linearizability of the client history. Split in two classes so they run in parallel.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
    public const int CiRuns = 600;

    [Fact]
    public void Simulated_group_stays_safe_live_and_linearizable_under_faults_part_one()
    {
        var failures = SimulationRunner.RunAll(SimulationRunner.Seeds(CiRuns, 0, 2), new SimulationOptions(), output);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}

/// <summary>Second half of the seeds of <see cref="SimulationTests"/>.</summary>
public sealed class SimulationTestsPartTwo(ITestOutputHelper output)
{
    [Fact]
    public void Simulated_group_stays_safe_live_and_linearizable_under_faults_part_two()
    {
        var failures = SimulationRunner.RunAll(SimulationRunner.Seeds(SimulationTests.CiRuns, 1, 2), new SimulationOptions(), output);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
