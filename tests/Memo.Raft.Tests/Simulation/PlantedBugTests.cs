using Memo.Node.Raft;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// Proves the simulator and the checkers have teeth: each deliberately broken core variant (test-only
/// <see cref="RaftFaults"/>) must be caught within a bounded number of seeds. The seed that found it is printed.
/// The fourth planted bug, <see cref="RaftFaults.CommitPreviousTermByCounting"/>, needs the exact Figure 8
/// interleaving (a new leader's first entry hides it otherwise); the scenario bug_figure8.txt demonstrates it.
/// </summary>
public sealed class PlantedBugTests(ITestOutputHelper output)
{
    [Fact]
    public void Simulator_catches_a_leader_that_serves_reads_without_confirming_leadership() =>
        AssertCaught(RaftFaults.ReadWithoutQuorumCheck, new SimulationOptions { Profile = FaultProfile.Partitions, CheckQuorum = false }, maxSeeds: 200);

    [Fact]
    public void Simulator_catches_voters_that_ignore_the_log_up_to_date_check() =>
        AssertCaught(RaftFaults.GrantVoteIgnoringLog, new SimulationOptions { Profile = FaultProfile.Everything }, maxSeeds: 200);

    [Fact]
    public void Simulator_catches_a_replica_that_does_not_persist_its_vote() =>
        AssertCaught(RaftFaults.ForgetVoteOnRestart, new SimulationOptions { Profile = FaultProfile.CrashStorm }, maxSeeds: 1000);

    private void AssertCaught(RaftFaults fault, SimulationOptions options, int maxSeeds)
    {
        var run = 0;
        foreach (var seed in Enumerable.Range(0, maxSeeds).Select(i => 7_000_000UL + (ulong)i))
        {
            run++;
            var result = new Simulation(seed, options with { Faults = fault }).Run();
            if (result.SafetyViolation is not null || result.LinearizabilityFailure is not null)
            {
                output.WriteLine($"{fault} caught after {run} seed(s): {result}");
                return;
            }
        }

        Assert.Fail($"planted bug {fault} not caught in {maxSeeds} seeds");
    }
}
