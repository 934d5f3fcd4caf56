using Memo.Testing.Linearizability;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// The simulator must not pass silently: a history it could not check, a batch that ran fewer seeds than planned, a
/// fault profile never drawn, or a replica that applied out of order or diverged must each fail. Each check is shown
/// failing here on a deliberately broken input.
/// </summary>
public sealed class SimulatorSelfCheckTests(ITestOutputHelper output)
{
    private const ulong Seed = 4_242;

    [Fact]
    public void A_linearizability_check_that_times_out_fails_the_run()
    {
        var options = new SimulationOptions
        {
            HistoryChecker = (history, budget) => new LinearizabilityResult(false, true, "k0", $"no verdict within the budget of {budget.TotalSeconds:F1} s ({history.Count} operations)"),
        };

        var result = new Simulation(Seed, options).Run();
        output.WriteLine(result.ToString());

        Assert.True(result.LinearizabilityTimedOut);
        Assert.True(result.Failed);
        Assert.StartsWith("linearizability check timed out", result.Failure, StringComparison.Ordinal);

        var batch = SimulationRunner.RunAll(new SeedBatch([Seed, Seed + 1], 2, "two seeds whose checks time out", ""), options, output, SimulationRunner.TestName<SimulatorSelfCheckTests>(nameof(A_linearizability_check_that_times_out_fails_the_run)));
        Assert.Equal(2, batch.LinearizabilityTimeouts);
        var failure = Assert.Throws<TrueException>(batch.AssertPassed);
        Assert.Contains("2 of 2 seeds failed", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_real_checker_runs_on_every_history_and_a_linearizable_run_passes()
    {
        var checkedHistories = 0;
        var options = new SimulationOptions
        {
            HistoryChecker = (history, budget) =>
            {
                checkedHistories++;
                return LinearizabilityChecker.Check(history, budget);
            },
        };

        var result = new Simulation(Seed, options).Run();
        output.WriteLine(result.ToString());

        Assert.Equal(1, checkedHistories);
        Assert.False(result.Failed, result.ToString());
        Assert.True(result.SucceededOperations > 0, "a run that completed no operation proves nothing");
    }

    [Fact]
    public void A_batch_that_ran_fewer_seeds_than_planned_fails()
    {
        var batch = SimulationRunner.RunAll(new SeedBatch([Seed, Seed + 1], 3, "two seeds of a plan of three", ""), new SimulationOptions(), output, SimulationRunner.TestName<SimulatorSelfCheckTests>(nameof(A_batch_that_ran_fewer_seeds_than_planned_fails)));

        var failure = Assert.Throws<TrueException>(batch.AssertPassed);
        Assert.Contains("2 seeds ran, 3 expected", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_of_no_seeds_is_refused()
    {
        if (SimulationRunner.Replaying || Environment.GetEnvironmentVariable("MEMO_SIM_RUNS") is { Length: > 0 })
        {
            return; // The environment chooses the batch; this checks the defaults.
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => SimulationRunner.FixedSeeds(0));
    }

    [Fact]
    public void Shards_of_a_batch_cover_every_seed_exactly_once()
    {
        if (SimulationRunner.Replaying || Environment.GetEnvironmentVariable("MEMO_SIM_RUNS") is { Length: > 0 })
        {
            return;
        }

        var shards = Enumerable.Range(0, 3).Select(s => SimulationRunner.FixedSeeds(10, s, 3)).ToList();

        Assert.Equal([4, 3, 3], shards.Select(s => s.Expected));
        Assert.Equal(shards.Select(s => s.Expected), shards.Select(s => s.Seeds.Count));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => SimulationRunner.DefaultSeedBase + (ulong)i), shards.SelectMany(s => s.Seeds).Order());
    }

    [Fact]
    public void The_profile_rotation_draws_every_profile_including_CrashStorm()
    {
        var drawn = Enumerable.Range(0, Simulation.DrawnProfiles.Count)
            .Select(i => new Simulation(SimulationRunner.DefaultSeedBase + (ulong)i, new SimulationOptions()).Profile)
            .ToHashSet();

        Assert.Contains(FaultProfile.CrashStorm, drawn);
        // Every profile but the one built for leader leases, which its own tests choose explicitly.
        Assert.Equal(Enum.GetValues<FaultProfile>().Where(p => p is not (FaultProfile.BySeed or FaultProfile.PausedIsolatedLeader or FaultProfile.PausedFollower)).ToHashSet(), drawn);
    }

    [Fact]
    public void A_batch_that_never_drew_a_profile_fails()
    {
        if (SimulationRunner.Replaying)
        {
            return;
        }

        var batch = SimulationRunner.RunAll(new SeedBatch([Seed], 1, "one seed, one profile", ""), new SimulationOptions { Profile = FaultProfile.Crashes }, output, SimulationRunner.TestName<SimulatorSelfCheckTests>(nameof(A_batch_that_never_drew_a_profile_fails)));
        batch.AssertPassed();

        var failure = Assert.Throws<TrueException>(batch.AssertEveryDrawnProfileRan);
        Assert.Contains(nameof(FaultProfile.CrashStorm), failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replica_that_applies_an_entry_twice_fails_the_run()
    {
        var result = new Simulation(Seed, new SimulationOptions { HostFaults = HostFaults.ReapplyAnEntry }).Run();
        output.WriteLine(result.ToString());

        Assert.NotNull(result.SafetyViolation);
        Assert.StartsWith("apply order", result.SafetyViolation, StringComparison.Ordinal);
        Assert.Contains("a repeat", result.SafetyViolation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replica_whose_state_differs_at_the_same_applied_index_fails_the_run()
    {
        var result = new Simulation(Seed, new SimulationOptions { HostFaults = HostFaults.MisapplyAWrite }).Run();
        output.WriteLine(result.ToString());

        Assert.NotNull(result.SafetyViolation);
        Assert.StartsWith("replica state", result.SafetyViolation, StringComparison.Ordinal);
    }

    [Fact]
    public void Replicas_are_compared_at_the_end_of_the_run()
    {
        var result = new Simulation(Seed, new SimulationOptions { HostFaults = HostFaults.CorruptStateAtEnd }).Run();
        output.WriteLine(result.ToString());

        Assert.NotNull(result.SafetyViolation);
        Assert.StartsWith("replica state: replicas differ", result.SafetyViolation, StringComparison.Ordinal);
    }
}
