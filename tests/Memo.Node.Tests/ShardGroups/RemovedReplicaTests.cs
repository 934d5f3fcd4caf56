using Memo.Node.Raft;
using Memo.Node.Shards.Hosting;
using Memo.Node.Shards.Replicated;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// What a replica the group removed knows of its removal, on real replicas: nothing. The leader stops sending to it
/// when it appends the removal, so the shard host must tell from the leader's report (<see cref="ReplicaRetirement"/>).
/// </summary>
public sealed class RemovedReplicaTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_learner_removed_from_its_group_keeps_its_old_leader_for_good_and_the_host_retires_it_on_the_leaders_report()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 2207);
        await cluster.StartGroupAsync([1, 2, 3]);
        await cluster.WriteAsync(Upsert("a", 1), "initial write");
        // Node 4 is not an initial voter: it starts empty and waits for the leader.
        var learner = await cluster.StartAsync(4, [1, 2, 3]);
        var leader = await cluster.LeaderAsync("leader");
        var added = await cluster.DriveAsync(leader.AddLearnerAsync(N(4), AddressOf(N(4))), "add learner");
        Assert.IsType<ShardGroupOutcome.MembershipChanged>(added);
        await cluster.CaughtUpAsync("learner catches up", 4);
        await cluster.UntilAsync("the learner follows the leader", () => learner.Status.Membership.IsLearner(N(4)) && learner.Status.Leader == leader.Node);

        // The ring moved the shard away from node 4 before the learner was promoted.
        var removed = await cluster.DriveAsync(leader.RemoveMemberAsync(N(4)), "remove the learner");
        Assert.False(Assert.IsType<ShardGroupOutcome.MembershipChanged>(removed).Membership.Contains(N(4)), removed.ToString());
        await cluster.WriteAsync(Upsert("a", 2), "write after the removal");
        // Ten election timeouts: a voter would have campaigned (and lost its leader) long before.
        for (var i = 0; i < 100; i++)
        {
            cluster.Tick();
            await Task.Delay(3);
        }

        var stale = learner.Status;
        Assert.True(stale.Membership.IsLearner(N(4)) && stale.Leader == leader.Node && stale.Role == RaftRole.Follower, cluster.Describe());
        var current = await cluster.LeaderAsync("leader after the removal");
        Assert.False(current.Status.Membership.Contains(N(4)), cluster.Describe());
        var report = new ReplicaReport(Shard, current.Node, true, current.Node, current.Status.Term, current.Status.Applied, current.Status.Membership,
            DateTime.UtcNow);
        Assert.True(ReplicaRetirement.LeftGroup(N(4), stale, report, DateTime.UtcNow, TimeSpan.FromSeconds(1)), $"{stale} kept on {report}");
    }
}
