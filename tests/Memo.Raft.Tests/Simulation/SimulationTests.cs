using Xunit.Abstractions;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// The main correctness gate: many seeded runs of the simulator across fault profiles (partitions, crashes with
/// restart, crashes at a Ready's persistence boundaries, pauses, loss/duplication/reordering, all together, on
/// replicas with skewed clocks), each checked for Raft safety at every Ready, contiguous and identical apply on every
/// replica, liveness and convergence after healing, and linearizability of the client history. The fixed seeds are
/// the same in every run; the fresh ones are new in every test process (their base is printed). Each batch is split
/// in two classes so the halves run in parallel.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
    public const int FixedRuns = 600;

    public const int FreshRuns = 1000;

    /// <summary>The test that replays a seed of the fixed batch (MEMO_SIM_SEED runs in the first shard only).</summary>
    public static string FixedReplayTest { get; } =
        SimulationRunner.TestName<SimulationTests>(nameof(Simulated_group_stays_safe_live_and_linearizable_under_faults_part_one));

    /// <summary>The test that replays a seed of the fresh batch (MEMO_SIM_SEED runs in the first shard only).</summary>
    public static string FreshReplayTest { get; } =
        SimulationRunner.TestName<FreshSeedSimulationTests>(nameof(FreshSeedSimulationTests.Simulated_group_stays_safe_live_and_linearizable_on_fresh_seeds_part_one));

    [Fact]
    public void Simulated_group_stays_safe_live_and_linearizable_under_faults_part_one()
    {
        var batch = SimulationRunner.RunAll(SimulationRunner.FixedSeeds(FixedRuns, 0, 2), new SimulationOptions(), output, FixedReplayTest);
        batch.AssertPassed();
        batch.AssertEveryDrawnProfileRan();
        batch.AssertEveryFaultKindHappened();
    }
}

/// <summary>Second half of the fixed seeds of <see cref="SimulationTests"/>.</summary>
public sealed class SimulationTestsPartTwo(ITestOutputHelper output)
{
    [Fact]
    public void Simulated_group_stays_safe_live_and_linearizable_under_faults_part_two()
    {
        var batch = SimulationRunner.RunAll(SimulationRunner.FixedSeeds(SimulationTests.FixedRuns, 1, 2), new SimulationOptions(), output, SimulationTests.FixedReplayTest);
        batch.AssertPassed();
        batch.AssertEveryDrawnProfileRan();
        batch.AssertEveryFaultKindHappened();
    }
}

/// <summary>
/// Fresh seeds of <see cref="SimulationTests"/>, first half. MEMO_SIM_SEEDS=10000 turns this pair of classes into
/// the long soak (see docs/testing.md).
/// </summary>
public sealed class FreshSeedSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void Simulated_group_stays_safe_live_and_linearizable_on_fresh_seeds_part_one()
    {
        var batch = SimulationRunner.RunAll(SimulationRunner.FreshSeeds(SimulationTests.FreshRuns, 0, 2), new SimulationOptions(), output, SimulationTests.FreshReplayTest);
        batch.AssertPassed();
        batch.AssertEveryDrawnProfileRan();
        batch.AssertEveryFaultKindHappened();
    }
}

/// <summary>Second half of the fresh seeds of <see cref="SimulationTests"/>.</summary>
public sealed class FreshSeedSimulationTestsPartTwo(ITestOutputHelper output)
{
    [Fact]
    public void Simulated_group_stays_safe_live_and_linearizable_on_fresh_seeds_part_two()
    {
        var batch = SimulationRunner.RunAll(SimulationRunner.FreshSeeds(SimulationTests.FreshRuns, 1, 2), new SimulationOptions(), output, SimulationTests.FreshReplayTest);
        batch.AssertPassed();
        batch.AssertEveryDrawnProfileRan();
        batch.AssertEveryFaultKindHappened();
    }
}

/// <summary>
/// Leader leases on every run (the main batches turn them on for a fifth of their seeds): fresh seeds across every
/// drawn profile, and fresh seeds of the one profile built against leases, a leader paused and cut off at once that
/// stays cut off after it resumes (where a lease timed by anything but the clock serves stale reads; see
/// <see cref="PlantedBugTests"/>), and of the profile built against the host's turn order, a follower that stalls and
/// then stops hearing the leader while the others campaign (where counting ticks after the heartbeat they preceded
/// breaks the lease).
/// </summary>
public sealed class LeaseSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void Groups_with_leader_leases_stay_safe_live_and_linearizable_under_every_profile()
    {
        var batch = SimulationRunner.RunAll(SimulationRunner.FreshSeeds(300), new SimulationOptions { LeaseReads = true }, output,
            SimulationRunner.TestName<LeaseSimulationTests>(nameof(Groups_with_leader_leases_stay_safe_live_and_linearizable_under_every_profile)));
        batch.AssertPassed();
        batch.AssertEveryDrawnProfileRan();
    }

    [Fact]
    public void Groups_with_leader_leases_stay_linearizable_when_the_leader_is_paused_and_cut_off()
    {
        var batch = SimulationRunner.RunAll(SimulationRunner.FreshSeeds(200), new SimulationOptions { LeaseReads = true, Profile = FaultProfile.PausedIsolatedLeader }, output,
            SimulationRunner.TestName<LeaseSimulationTests>(nameof(Groups_with_leader_leases_stay_linearizable_when_the_leader_is_paused_and_cut_off)));
        batch.AssertPassed();
    }

    [Fact]
    public void Groups_with_leader_leases_stay_safe_when_a_follower_stalls_then_stops_hearing_the_leader()
    {
        var batch = SimulationRunner.RunAll(SimulationRunner.FreshSeeds(50), new SimulationOptions { LeaseReads = true, Voters = 3, Profile = FaultProfile.PausedFollower }, output,
            SimulationRunner.TestName<LeaseSimulationTests>(nameof(Groups_with_leader_leases_stay_safe_when_a_follower_stalls_then_stops_hearing_the_leader)));
        batch.AssertPassed();
    }
}
