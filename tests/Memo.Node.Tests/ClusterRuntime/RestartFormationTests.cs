using Memo.Node.Cluster.Runtime;

namespace Memo.Node.Tests.ClusterRuntime;

/// <summary>
/// The whole-cluster restart rule (<see cref="RestartFormation"/>): a restarting node forms the cluster only when a
/// majority of the recorded members said they are in no cluster and it has the lowest address of those that answered;
/// never while a recorded member is in a cluster; a silent lower member is passed over only after the silence bound.
/// </summary>
public sealed class RestartFormationTests
{
    private const string A = "10.0.0.1:5091";
    private const string B = "10.0.0.2:5091";
    private const string C = "10.0.0.3:5091";
    private const string D = "10.0.0.4:5091";
    private const string E = "10.0.0.5:5091";

    private static readonly FormationTiming Timing = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10));
    private static readonly TimeSpan Now = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private static FormationDecision Decide(string self, string[] recorded, Dictionary<string, FormationAnswer> answers, TimeSpan? askingFor = null) =>
        RestartFormation.Decide(self, recorded, answers, askingFor ?? Long, Timing);

    private static FormationAnswer NotInCluster(double ageSeconds = 0.5) => new(false, TimeSpan.FromSeconds(ageSeconds));

    private static FormationAnswer InCluster(double ageSeconds = 0.5) => new(true, TimeSpan.FromSeconds(ageSeconds));

    [Fact]
    public void The_lowest_of_a_majority_that_is_in_no_cluster_forms()
    {
        var decision = Decide(A, [A, B, C], new() { [B] = NotInCluster(), [C] = NotInCluster() }, Now);

        Assert.True(decision.Form, decision.Reason);
    }

    [Fact]
    public void The_others_of_that_majority_keep_joining()
    {
        Assert.False(Decide(B, [A, B, C], new() { [A] = NotInCluster(), [C] = NotInCluster() }).Form);
        Assert.False(Decide(C, [A, B, C], new() { [A] = NotInCluster(), [B] = NotInCluster() }).Form);
    }

    [Fact]
    public void A_node_never_forms_while_a_recorded_member_is_in_a_cluster()
    {
        // The lone restarted node whose majority runs on: it joins them, whatever the others say.
        var decision = Decide(A, [A, B, C], new() { [B] = InCluster(), [C] = InCluster() });

        Assert.False(decision.Form);
        Assert.Contains("in a cluster", decision.Reason, StringComparison.Ordinal);
        Assert.False(Decide(A, [A, B, C, D, E], new() { [B] = NotInCluster(), [C] = NotInCluster(), [D] = InCluster() }).Form);
    }

    [Fact]
    public void Without_a_majority_of_answers_nobody_forms()
    {
        // Node A restarted alone, B and C silent: they may be running a cluster A cannot reach.
        Assert.False(Decide(A, [A, B, C], [], Long).Form);
        // 2 of 5 in no cluster: the other 3 may be a running majority.
        Assert.False(Decide(A, [A, B, C, D, E], new() { [B] = NotInCluster() }).Form);
        Assert.True(Decide(A, [A, B, C, D, E], new() { [B] = NotInCluster(), [E] = NotInCluster() }).Form);
    }

    [Fact]
    public void Stale_answers_do_not_count()
    {
        Assert.False(Decide(A, [A, B, C], new() { [B] = NotInCluster(ageSeconds: 4) }).Form);
        // A stale "in a cluster" does not hold the restart back for ever either: the member may have restarted since.
        Assert.True(Decide(A, [A, B, C], new() { [B] = NotInCluster(), [C] = InCluster(ageSeconds: 4) }).Form);
    }

    [Fact]
    public void A_lower_member_that_is_silent_is_passed_over_only_after_the_silence_bound()
    {
        // A (lowest) does not answer; B and C do. B waits while A may still be starting...
        var answers = new Dictionary<string, FormationAnswer> { [C] = NotInCluster() };
        Assert.False(Decide(B, [A, B, C], answers, askingFor: TimeSpan.FromSeconds(5)).Form);
        // ... and while A's last answer is recent (A may be slow, and about to form itself) ...
        answers[A] = NotInCluster(ageSeconds: 6);
        Assert.False(Decide(B, [A, B, C], answers).Form);
        // ... and forms once A has been silent for the bound.
        answers[A] = NotInCluster(ageSeconds: 11);
        Assert.True(Decide(B, [A, B, C], answers).Form);
        answers.Remove(A);
        Assert.True(Decide(B, [A, B, C], answers, askingFor: TimeSpan.FromSeconds(11)).Form);
    }

    [Fact]
    public void Concurrent_deciders_that_heard_the_same_answers_choose_one_former()
    {
        // Every pair of answer sets that both reach a majority of three: at most one node forms.
        var all = new[] { A, B, C };
        foreach (var silent in all.Append(null))
        {
            var formers = all.Where(self => self != silent).Where(self =>
                Decide(self, all, all.Where(m => m != self && m != silent).ToDictionary(m => m, _ => NotInCluster())).Form).ToList();
            Assert.Single(formers);
        }
    }

    [Fact]
    public void A_node_that_was_the_only_recorded_member_forms()
    {
        Assert.True(Decide(A, [A], []).Form);
        Assert.True(Decide(A, [], []).Form);
    }
}
