using System.Runtime.CompilerServices;
using Memo.Node.Raft;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// Proves the simulator and its checkers have teeth: each deliberately broken core variant (test-only
/// <see cref="RaftFaults"/>) must be caught by fresh random seeds (new in every test process; the base and each
/// catching seed are printed), and a control run of exactly the same seeds and options without the bug must pass, so
/// the catch is the bug's doing and not the options'. A bug counts as caught by a safety violation (monitor, core
/// invariant or host-side apply check) or a history the linearizability checker rejects; liveness failures and checker
/// timeouts do not count.
/// </summary>
public sealed class PlantedBugTests(ITestOutputHelper output)
{
    // Catch rates measured over many fresh seeds are in docs/testing.md; the caps make a miss negligible.
    private const int RequiredCatches = 3;

    [Fact]
    public void Simulator_catches_a_leader_that_serves_reads_without_confirming_leadership() =>
        AssertCaughtAndControlPasses(RaftFaults.ReadWithoutQuorumCheck, new SimulationOptions { Profile = FaultProfile.Partitions, CheckQuorum = false }, maxSeeds: 200);

    [Fact]
    public void Simulator_catches_voters_that_ignore_the_log_up_to_date_check() =>
        AssertCaughtAndControlPasses(RaftFaults.GrantVoteIgnoringLog, new SimulationOptions { Profile = FaultProfile.Everything }, maxSeeds: 200);

    [Fact]
    public void Simulator_catches_a_replica_that_does_not_persist_its_vote() =>
        // Two candidates must compete in one term around a voter's crash: five voters without PreVote or CheckQuorum.
        AssertCaughtAndControlPasses(RaftFaults.ForgetVoteOnRestart, new SimulationOptions { Profile = FaultProfile.CrashStorm, Voters = 5, PreVote = false, CheckQuorum = false }, maxSeeds: 600);

    /// <summary>
    /// Figure 8 (Raft §5.4.2). Leaders are cut off young and the moment they advance their commit index
    /// (<see cref="FaultProfile.LeaderChurn"/>), and appends carry one entry, so a new leader's earlier-term entries
    /// reach a follower a round trip before its own: counting them commits an entry a rival with a newer tail then
    /// overwrites.
    /// </summary>
    [Fact]
    public void Simulator_catches_a_leader_that_commits_an_earlier_terms_entry_by_counting_replicas() =>
        AssertCaughtAndControlPasses(RaftFaults.CommitPreviousTermByCounting, new SimulationOptions { Profile = FaultProfile.LeaderChurn, MaxEntriesPerAppend = 1, Voters = 3 }, maxSeeds: 300);

    [Fact]
    public void Simulator_catches_replicas_that_send_votes_and_acknowledgements_before_persisting() =>
        AssertCaughtAndControlPasses(RaftFaults.SendBeforePersist, new SimulationOptions { Profile = FaultProfile.CrashMidPersist }, maxSeeds: 300);

    [Fact]
    public void Simulator_catches_a_follower_that_keeps_a_conflicting_suffix_instead_of_truncating_it() =>
        AssertCaughtAndControlPasses(RaftFaults.KeepConflictingSuffix, new SimulationOptions { Profile = FaultProfile.Partitions }, maxSeeds: 300);

    /// <summary>
    /// A leader lease timed by the leader's tick count: a paused leader loses ticks, so after the pause it still
    /// believes in a lease the others stopped honouring long ago, and serves reads a new leader's writes made stale.
    /// The control runs the same seeds with correct (clock-timed) leases.
    /// </summary>
    [Fact]
    public void Simulator_catches_a_leader_lease_timed_by_ticks_instead_of_the_clock() =>
        AssertCaughtAndControlPasses(RaftFaults.LeaseTimedByTicks, new SimulationOptions { Profile = FaultProfile.PausedIsolatedLeader, LeaseReads = true }, maxSeeds: 300);

    /// <summary>
    /// The replica loop's order before 311b774: the turn that resumes a stalled replica steps its queued input (a
    /// leader's heartbeat) before the ticks that passed before it, shortening the voter's election timeout into the
    /// leader's lease margin (soak 4's stale read). A follower stalls, then stops hearing the leader while the other
    /// followers campaign (<see cref="FaultProfile.PausedFollower"/>); caught by the lease promise check (a vote
    /// granted inside the lease of a heartbeat the voter acknowledged) or by linearizability.
    /// </summary>
    /// <remarks>
    /// The core's voters also time their side of the lease by their clock (RaftNode.InVoterLease), which makes the
    /// host's order harmless; the bug run turns that off (<see cref="RaftFaults.VoterLeaseTimedByTicksOnly"/>) to
    /// show the host bug itself is caught, and a third run shows the same seeds pass with the host bug and the
    /// core's clock on.
    /// </remarks>
    [Fact]
    public void Simulator_catches_a_host_that_counts_the_ticks_queued_during_a_pause_after_the_heartbeat_it_found()
    {
        var options = new SimulationOptions { Profile = FaultProfile.PausedFollower, LeaseReads = true, Voters = 3 };
        var seeds = AssertCaughtAndControlPasses(nameof(HostFaults.InputsBeforeTicks),
            options with { HostFaults = HostFaults.InputsBeforeTicks, Faults = RaftFaults.VoterLeaseTimedByTicksOnly }, options, maxSeeds: 600);
        var clockHeld = SimulationRunner.RunAll(
            new SeedBatch(seeds, seeds.Count, $"the same {seeds.Count} seeds with the host bug, the voters' clock on", ""),
            options with { HostFaults = HostFaults.InputsBeforeTicks }, output,
            SimulationRunner.TestName<PlantedBugTests>(nameof(Simulator_catches_a_host_that_counts_the_ticks_queued_during_a_pause_after_the_heartbeat_it_found)));
        clockHeld.AssertPassed();
    }

    private void AssertCaughtAndControlPasses(RaftFaults fault, SimulationOptions options, int maxSeeds, [CallerMemberName] string test = "") =>
        AssertCaughtAndControlPasses(fault.ToString(), options with { Faults = fault }, options, maxSeeds, test);

    // Returns the seeds run (up to the last catch).
    private List<ulong> AssertCaughtAndControlPasses(string fault, SimulationOptions faulty, SimulationOptions options, int maxSeeds, [CallerMemberName] string test = "")
    {
        var replayTest = SimulationRunner.TestName<PlantedBugTests>(test);
        var plan = SimulationRunner.FreshSeeds(maxSeeds);
        output.WriteLine($"{fault}: {plan.Origin}; replay one with {SimulationRunner.ReplayCommand("<seed>", replayTest)}{plan.ReplayHint}");
        var required = Math.Min(RequiredCatches, plan.Seeds.Count);
        var run = new List<ulong>();
        var catches = new List<SimulationResult>();
        foreach (var seed in plan.Seeds)
        {
            run.Add(seed);
            var simulation = new Simulation(seed, faulty with { Trace = SimulationRunner.Replaying });
            var result = simulation.Run();
            if (SimulationRunner.Replaying)
            {
                output.WriteLine(simulation.Trace);
            }

            if (result.SafetyViolation is not null || (result.LinearizabilityFailure is not null && !result.LinearizabilityTimedOut))
            {
                catches.Add(result);
                output.WriteLine($"caught: {result}");
                if (catches.Count >= required)
                {
                    break;
                }
            }
        }

        output.WriteLine($"{fault} caught by {catches.Count} of {run.Count} fresh seeds");
        Assert.True(catches.Count >= required, $"planted bug {fault} caught by {catches.Count} of {run.Count} fresh seeds ({required} required); {plan.Origin}{plan.ReplayHint}");

        var control = SimulationRunner.RunAll(new SeedBatch(run, run.Count, $"control: the same {run.Count} seeds without {fault}", ""), options, output, replayTest);
        control.AssertPassed();
        return run;
    }
}
