using Memo.Node.Raft;
using Memo.Node.Shards.Replicated;
using Memo.Node.Storage;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// The tick timer does not wake a replica that no tick can move: a lone voter leading with no learner and nothing
/// pending. Its ticks are counted and stepped by the next turn an input wakes; once a learner is in its configuration,
/// or on a follower, every tick wakes it again.
/// </summary>
public sealed class IdleUnderTicksTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_lone_leader_with_nothing_pending_is_not_woken_by_ticks_and_still_takes_writes()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1301);
        var silo = new MemorySilo();
        var replica = await cluster.StartAsync(1, [1], silo);
        await cluster.WriteAsync(Upsert("a", 1), "first write");
        await cluster.UntilAsync("idle under ticks after the write", () => replica.IdleUnderTicks);

        var skipped = replica.TicksNotWaking;
        var taken = replica.TicksTaken;
        for (var i = 0; i < 5; i++)
        {
            cluster.Tick();
        }
        // OnTick decides synchronously: each of the five was counted and woke nothing.
        Assert.Equal(skipped + 5, replica.TicksNotWaking);
        Assert.Equal(taken, replica.TicksTaken);

        // An input wakes it (no tick is fired meanwhile): the write commits, and its turn steps the ticks that waited, at
        // most three a turn.
        var written = await replica.ProposeAsync(Upsert("a", 2)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.IsType<ShardGroupOutcome.Applied>(written);
        await UntilAsync(() => replica.TicksTaken > taken);
        Assert.Equal(2UL, (await ReadEntryAsync(silo, "a"))!.Version);
        Assert.Equal(taken + 3, replica.TicksTaken);
        Assert.Equal(RaftRole.Leader, replica.Status.Role);
        await cluster.UntilAsync("idle again", () => replica.IdleUnderTicks);
    }

    [Fact]
    public async Task Ticks_wake_a_lone_leader_again_once_it_has_a_learner_and_always_wake_followers()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1302);
        var leader = await cluster.StartAsync(1, [1]);
        var learner = await cluster.StartAsync(2, [1]);
        await cluster.WriteAsync(Upsert("a", 1), "first write");
        await cluster.UntilAsync("idle under ticks", () => leader.IdleUnderTicks);

        var added = await cluster.DriveAsync(leader.AddLearnerAsync(N(2), AddressOf(N(2))), "add learner");
        Assert.True(Assert.IsType<ShardGroupOutcome.MembershipChanged>(added).Membership.IsLearner(N(2)), added.ToString());
        // The learner needs heartbeats and appends, which ticks drive: the leader is no longer idle under them.
        Assert.False(leader.IdleUnderTicks);
        var skipped = leader.TicksNotWaking;
        var taken = leader.TicksTaken;
        cluster.Tick();
        await UntilAsync(() => leader.TicksTaken > taken);
        Assert.Equal(skipped, leader.TicksNotWaking);

        await cluster.CaughtUpAsync("learner caught up", 1, 2);
        Assert.False(learner.IdleUnderTicks);
        Assert.Equal(0L, learner.TicksNotWaking);
    }

    // Waits without ticking (the cluster's UntilAsync ticks while it waits).
    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in 30 s");
            await Task.Delay(5);
        }
    }
}
