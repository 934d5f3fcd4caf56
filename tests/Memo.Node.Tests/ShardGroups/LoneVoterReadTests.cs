using Memo.Node.Raft;
using Memo.Node.Shards.Replicated;
using Memo.Node.Storage;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// A group's only voter serves linearizable reads between turns without its actor (ShardGroupReplica.TryReadAlone):
/// never while a turn may be answering writes whose application is not stored yet, and never once a second voter is
/// in its configuration.
/// </summary>
public sealed class LoneVoterReadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_lone_voter_reads_alone_between_turns_and_not_while_an_answered_write_is_being_stored()
    {
        // The replica actor's turns: the node turn loop puts a lone voter's entries and their application in one batch,
        // so its writes are never answered before their application is stored.
        await using var cluster = new ShardGroupTestCluster(output, seed: 1207, turnLoop: ShardTurnLoop.Replica);
        var silo = new MemorySilo();
        var replica = await cluster.StartAsync(1, [1], silo);
        await cluster.WriteAsync(Upsert("a", 1), "first write");
        await cluster.UntilAsync("the lone voter reads alone", () => replica.TryReadAlone() is not null);
        var before = replica.ReadsAlone;
        await replica.TryReadAlone()!.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1UL, (await ReadEntryAsync(silo, "a"))!.Version);
        Assert.Equal(before + 1, replica.ReadsAlone);

        // The write's application is held on the disk: the write is answered (its entry is durable), the turn goes on.
        using var release = HoldEntryWrites(silo);
        var answered = await replica.ProposeAsync(Upsert("a", 2)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.IsType<ShardGroupOutcome.Applied>(answered);

        // The silo does not hold the answered write yet, so no read may skip the turn; ReadIndex waits for it.
        Assert.Null(replica.TryReadAlone());
        var read = replica.ReadIndexAsync();
        Assert.False(read.IsCompleted);
        release.Set();
        Assert.IsType<ShardGroupOutcome.ReadReady>(await read.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2UL, (await ReadEntryAsync(silo, "a"))!.Version);
        await cluster.UntilAsync("reads alone again after the turn", () => replica.TryReadAlone() is not null);
    }

    [Fact]
    public async Task A_lone_voter_keeps_reading_alone_with_a_learner_and_stops_once_the_learner_is_a_voter()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1208);
        var leader = await cluster.StartAsync(1, [1]);
        await cluster.StartAsync(2, [1]);
        await cluster.WriteAsync(Upsert("a", 1), "first write");

        var added = await cluster.DriveAsync(leader.AddLearnerAsync(N(2), AddressOf(N(2))), "add learner");
        Assert.True(Assert.IsType<ShardGroupOutcome.MembershipChanged>(added).Membership.IsLearner(N(2)), added.ToString());
        // A learner votes for nobody: node 1 is still the only node that can lead.
        await cluster.UntilAsync("reads alone with a learner", () => leader.TryReadAlone() is not null);

        var promoted = await cluster.DriveAsync(leader.PromoteLearnerAsync(N(2)), "promote");
        Assert.True(Assert.IsType<ShardGroupOutcome.MembershipChanged>(promoted).Membership.IsVoter(N(2)), promoted.ToString());
        Assert.Null(leader.TryReadAlone());
        await cluster.WriteAsync(Upsert("a", 2), "write with two voters");
        Assert.Null(leader.TryReadAlone());
        // Reads now take ReadIndex, confirmed by the second voter.
        var readsAlone = leader.ReadsAlone;
        Assert.IsType<ShardGroupOutcome.ReadReady>(await cluster.DriveAsync(leader.ReadIndexAsync(), "read with two voters"));
        Assert.Equal(readsAlone, leader.ReadsAlone);
        Assert.Equal(RaftRole.Leader, leader.Status.Role);
    }
}
