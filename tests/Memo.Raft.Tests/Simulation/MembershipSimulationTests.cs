using Xunit.Abstractions;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// Membership changes under load and faults: while clients write and read, node 4 joins as a learner, catches up
/// (through a snapshot: logs are compacted every few entries), is promoted, voter 1 is removed, then node 5 and
/// voter 2 likewise. No acknowledged write may be lost (linearizability), no term may have two leaders, and the
/// whole plan must complete once faults heal.
/// </summary>
public sealed class MembershipSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void Learners_are_added_promoted_and_voters_removed_under_faults_without_losing_writes()
    {
        var options = new SimulationOptions { Reconfigure = true, Voters = 3, SafetyPhaseMs = 4_000, LivenessPhaseMs = 4_000 };
        var batch = SimulationRunner.RunAll(SimulationRunner.FixedSeeds(100, defaultSeedBase: SimulationRunner.DefaultSeedBase + 500_000), options, output, SimulationRunner.TestName<MembershipSimulationTests>(nameof(Learners_are_added_promoted_and_voters_removed_under_faults_without_losing_writes)));
        batch.AssertPassed();
        batch.AssertEveryDrawnProfileRan();
        batch.AssertEveryFaultKindHappened();
    }
}
