using Memo.Node.Raft;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Storage;
using Memo.Node.Tests.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

public sealed class ShardGroupReplicaTests(ITestOutputHelper output)
{
    private static readonly int[] Three = [1, 2, 3];

    private static ShardGroupOptions SmallSnapshots => new() { SnapshotThresholdEntries = 20, SnapshotKeepEntries = 3 };

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task Three_replicas_elect_a_leader_and_apply_proposals_identically_on_every_silo(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 101, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        using var owner = MemoKeyPair.Generate();
        var block = BlockFactory.MakeImmutable([1, 2, 3], owner.PublicKey);

        var stored = await cluster.WriteAsync(new() { Format = 1, InsertBlock = new() { Block = block } }, "insert block");
        Assert.IsType<ShardResult.BlockStored>(stored.Result);
        var again = await cluster.WriteAsync(new() { Format = 1, InsertBlock = new() { Block = block } }, "insert block again");
        Assert.IsType<ShardResult.BlockAlreadyStored>(again.Result);
        for (var i = 0; i < 10; i++)
        {
            var written = await cluster.WriteAsync(Upsert($"k{i % 4}", i), $"write {i}");
            Assert.Equal((ulong)(i / 4 + 1), Assert.IsType<ShardResult.EntryWritten>(written.Result).Current.Version);
        }

        await cluster.CaughtUpAsync("all applied", Three);
        var dumps = await Task.WhenAll(Three.Select(i => DumpAsync(cluster.Nodes[N(i)].Silo)));
        Assert.Equal(5, dumps[0].Count);
        Assert.Equal(dumps[0], dumps[1]);
        Assert.Equal(dumps[0], dumps[2]);
        Assert.Equal(3UL, (await ReadEntryAsync(cluster.Nodes[N(2)].Silo, "k0"))!.Version);
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task A_proposal_to_a_follower_is_answered_NotLeader_with_the_leader_as_hint(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 202, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        await cluster.WriteAsync(Upsert("a", 1), "first write");
        var leader = await cluster.LeaderAsync("leader known");
        await cluster.UntilAsync("followers know the leader", () => Three.All(i => cluster.Replica(i).Status.Leader == leader.Node));
        var follower = Three.Select(cluster.Replica).First(r => r.Node != leader.Node);
        // A follower learns the first write's commit from the leader's next append or heartbeat: until it stored it,
        // the check below could not tell a refused proposal from a late application.
        var followerSilo = cluster.Nodes[follower.Node].Silo;
        await cluster.UntilAsync("the follower stored the first write", () => ReadEntryAsync(followerSilo, "a").GetAwaiter().GetResult() is not null);

        var outcome = await cluster.DriveAsync(follower.ProposeAsync(Upsert("a", 2)), "proposal at a follower");
        var read = await cluster.DriveAsync(follower.ReadIndexAsync(), "read at a follower");

        Assert.Equal(new ShardGroupOutcome.NotLeader(leader.Node), outcome);
        Assert.Equal(new ShardGroupOutcome.NotLeader(leader.Node), read);
        Assert.Equal(1UL, (await ReadEntryAsync(cluster.Nodes[follower.Node].Silo, "a"))!.Version);
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task An_isolated_leader_is_replaced_and_catches_up_after_healing_without_losing_acknowledged_writes(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 303, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        var expected = new Dictionary<string, ulong>();
        for (var i = 0; i < 5; i++)
        {
            await cluster.WriteAsync(Upsert($"k{i}", i), $"before partition {i}");
            expected[$"k{i}"] = 1;
        }
        var old = await cluster.LeaderAsync("first leader");
        var oldId = (int)old.Node.Value;

        cluster.Isolate(oldId);
        // A proposal the isolated leader accepts but cannot commit: it must end up not applied (superseded).
        var stranded = old.ProposeAsync(Upsert("stranded", 0));
        var newLeader = await cluster.LeaderAsync("new leader on the majority side");
        Assert.NotEqual(old.Node, newLeader.Node);
        Assert.True(newLeader.Status.Term > old.Status.Term || !old.Status.IsLeader);
        for (var i = 0; i < 5; i++)
        {
            var written = await cluster.WriteAsync(Upsert($"k{i}", 100 + i), $"during partition {i}");
            expected[$"k{i}"] = Assert.IsType<ShardResult.EntryWritten>(written.Result).Current.Version;
        }

        cluster.Rejoin(oldId);
        await cluster.CaughtUpAsync("old leader catches up", Three);
        var strandedOutcome = await cluster.DriveAsync(stranded, "stranded proposal resolves");
        Assert.IsType<ShardGroupOutcome.Superseded>(strandedOutcome);

        var dumps = await Task.WhenAll(Three.Select(i => DumpAsync(cluster.Nodes[N(i)].Silo)));
        Assert.Equal(dumps[0], dumps[1]);
        Assert.Equal(dumps[0], dumps[2]);
        foreach (var (key, version) in expected)
        {
            Assert.Equal(2UL, version);
            Assert.Equal(version, (await ReadEntryAsync(cluster.Nodes[old.Node].Silo, key))!.Version);
        }
        Assert.Null(await cluster.Nodes[old.Node].Silo.ReadEntryAsync("stranded"));
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task A_restarted_replica_rejoins_catches_up_and_does_not_reapply_commands(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 404, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        for (var i = 0; i < 5; i++)
        {
            await cluster.WriteAsync(Upsert("k", i), $"write {i}");
        }
        await cluster.CaughtUpAsync("all applied", Three);
        var leader = await cluster.LeaderAsync("leader");
        var follower = Three.First(i => N(i) != leader.Node);
        var appliedBefore = cluster.Replica(follower).Status.Applied;

        // Restart with nothing missed: the applied index comes back with the state, nothing is applied twice.
        await cluster.CrashAsync(follower);
        var restarted = await cluster.StartAsync(follower, Three);
        Assert.Equal(appliedBefore, restarted.Status.Applied);
        await cluster.CaughtUpAsync("restarted follower rejoins", Three);
        Assert.Equal(5UL, (await ReadEntryAsync(cluster.Nodes[N(follower)].Silo, "k"))!.Version);

        // Restart after missing writes: it catches up from the log.
        await cluster.CrashAsync(follower);
        for (var i = 5; i < 8; i++)
        {
            await cluster.WriteAsync(Upsert("k", i), $"write {i} while down");
        }
        await cluster.StartAsync(follower, Three);
        await cluster.CaughtUpAsync("restarted follower catches up", Three);

        // Restart the leader too: a new leader takes over and every replica agrees.
        var leaderId = (int)(await cluster.LeaderAsync("leader before crash")).Node.Value;
        await cluster.CrashAsync(leaderId);
        await cluster.WriteAsync(Upsert("k", 9), "write after leader crash");
        await cluster.StartAsync(leaderId, Three);
        await cluster.CaughtUpAsync("old leader catches up", Three);

        foreach (var id in Three)
        {
            Assert.Equal(9UL, (await ReadEntryAsync(cluster.Nodes[N(id)].Silo, "k"))!.Version);
        }
        var dumps = await Task.WhenAll(Three.Select(i => DumpAsync(cluster.Nodes[N(i)].Silo)));
        Assert.Equal(dumps[0], dumps[1]);
        Assert.Equal(dumps[0], dumps[2]);
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task Replicas_on_SqliteSilo_survive_closing_and_reopening_the_silo(ShardTurnLoop loop)
    {
        using var dir = new TempDirectory();
        async Task<ISilo> OpenAsync(int id) => await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = Path.Combine(dir.Path, $"n{id}") });
        await using var cluster = new ShardGroupTestCluster(output, seed: 505, SmallSnapshots, turnLoop: loop);
        foreach (var id in Three)
        {
            await cluster.StartAsync(id, Three, await OpenAsync(id));
        }
        for (var i = 0; i < 30; i++)
        {
            await cluster.WriteAsync(Upsert($"k{i % 3}", i), $"write {i}");
        }
        await cluster.CaughtUpAsync("all applied", Three);

        var leader = await cluster.LeaderAsync("leader");
        var follower = Three.First(i => N(i) != leader.Node);
        await cluster.CrashAsync(follower);
        await cluster.Nodes[N(follower)].Silo.DisposeAsync();
        for (var i = 30; i < 33; i++)
        {
            await cluster.WriteAsync(Upsert($"k{i % 3}", i), $"write {i} while down");
        }
        await cluster.StartAsync(follower, Three, await OpenAsync(follower));
        await cluster.CaughtUpAsync("reopened follower catches up", Three);

        Assert.True(cluster.Replica(follower).Status.SnapshotIndex > LogIndex.Zero, cluster.Describe());
        for (var k = 0; k < 3; k++)
        {
            Assert.Equal(11UL, (await ReadEntryAsync(cluster.Nodes[N(follower)].Silo, $"k{k}"))!.Version);
        }
        var dumps = await Task.WhenAll(Three.Select(i => DumpAsync(cluster.Nodes[N(i)].Silo)));
        Assert.Equal(dumps[0], dumps[1]);
        Assert.Equal(dumps[0], dumps[2]);
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task A_replica_behind_a_compacted_log_catches_up_by_snapshot(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 606, SmallSnapshots, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        await cluster.WriteAsync(Upsert("k", 0), "first write");
        var leader = await cluster.LeaderAsync("leader");
        var laggard = Three.First(i => N(i) != leader.Node);
        await cluster.CrashAsync(laggard);
        var laggardLast = cluster.Nodes[N(laggard)].Silo is var silo ? (await silo.ReadLogBoundsAsync(Shard)).Last : default;

        for (var i = 1; i <= 60; i++)
        {
            await cluster.WriteAsync(Upsert($"k{i % 7}", i), $"write {i}");
        }
        var current = await cluster.LeaderAsync("leader after writes");
        await cluster.UntilAsync("leader compacted past the laggard", () => current.Status.FirstIndex > laggardLast.Next());

        var restarted = await cluster.StartAsync(laggard, Three);
        await cluster.CaughtUpAsync("laggard catches up", Three);

        Assert.True(restarted.Status.SnapshotIndex > laggardLast, cluster.Describe());
        var dumps = await Task.WhenAll(Three.Select(i => DumpAsync(cluster.Nodes[N(i)].Silo)));
        Assert.Equal(dumps[0], dumps[1]);
        Assert.Equal(dumps[0], dumps[2]);
        Assert.Equal(8UL, (await ReadEntryAsync(cluster.Nodes[N(laggard)].Silo, "k0"))!.Version);
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task A_linearizable_read_completes_after_its_index_is_applied_and_never_on_a_partitioned_old_leader(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 707, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        var written = await cluster.WriteAsync(Upsert("x", 1), "write x=1");
        var leader = await cluster.LeaderAsync("leader");

        var read = await cluster.DriveAsync(leader.ReadIndexAsync(), "read at the leader");
        var ready = Assert.IsType<ShardGroupOutcome.ReadReady>(read);
        Assert.True(ready.Index >= written.Index);
        Assert.True(leader.Status.Applied >= ready.Index);
        Assert.Equal(1UL, (await ReadEntryAsync(cluster.Nodes[leader.Node].Silo, "x"))!.Version);

        var oldId = (int)leader.Node.Value;
        cluster.Isolate(oldId);
        var staleRead = leader.ReadIndexAsync();
        var newLeader = await cluster.LeaderAsync("new leader");
        await cluster.WriteAsync(Upsert("x", 2), "write x=2 on the majority");
        var outcome = await cluster.DriveAsync(staleRead, "read on the isolated old leader ends");

        Assert.True(outcome is ShardGroupOutcome.NotLeader or ShardGroupOutcome.Dropped, $"expected NotLeader or Dropped, got {outcome}");
        Assert.NotEqual(leader.Node, newLeader.Node);
        var fresh = await cluster.DriveAsync(newLeader.ReadIndexAsync(), "read at the new leader");
        Assert.IsType<ShardGroupOutcome.ReadReady>(fresh);
        Assert.Equal(2UL, (await ReadEntryAsync(cluster.Nodes[newLeader.Node].Silo, "x"))!.Version);
        cluster.Rejoin(oldId);
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task Reads_that_arrive_together_share_one_leadership_confirmation(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 717, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        await cluster.WriteAsync(Upsert("x", 1), "write x=1");
        var leader = await cluster.LeaderAsync("leader");
        var follower = Three.Select(N).First(n => n != leader.Node);
        var transport = cluster.Nodes[leader.Node].Transport!;
        var sentBefore = transport.GetLinkStats(follower)!.Sent;

        const int Reads = 200;
        var reads = Enumerable.Range(0, Reads).Select(_ => leader.ReadIndexAsync()).ToList();
        var outcomes = await cluster.DriveAsync(Task.WhenAll(reads), "concurrent reads at the leader");

        Assert.All(outcomes, o => Assert.IsType<ShardGroupOutcome.ReadReady>(o));
        // One ReadIndex per read would send the follower at least one heartbeat per read.
        var sent = transport.GetLinkStats(follower)!.Sent - sentBefore;
        output.WriteLine($"{Reads} reads: {sent} messages to follower {follower.Value}");
        Assert.True(sent < Reads / 2, $"{sent} messages for {Reads} reads: reads were not batched");
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task A_learner_joins_by_snapshot_is_promoted_and_an_old_voter_is_removed_while_writes_continue(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 808, SmallSnapshots, turnLoop: loop);
        await cluster.StartGroupAsync(Three);
        var versions = new Dictionary<string, ulong>();
        var next = 0;
        async Task WriteSomeAsync(string phase, int count)
        {
            for (var i = 0; i < count; i++, next++)
            {
                var written = await cluster.WriteAsync(Upsert($"k{next % 5}", next), $"{phase} write {next}");
                versions[$"k{next % 5}"] = Assert.IsType<ShardResult.EntryWritten>(written.Result).Current.Version;
            }
        }
        await WriteSomeAsync("initial", 40);

        // Node 4 is not an initial voter: it starts empty and waits for the leader.
        var joiner = await cluster.StartAsync(4, Three);
        Assert.Equal(LogIndex.Zero, joiner.Status.LastIndex);
        var leader = await cluster.LeaderAsync("leader");
        var added = await cluster.DriveAsync(leader.AddLearnerAsync(N(4), AddressOf(N(4))), "add learner");
        Assert.True(Assert.IsType<ShardGroupOutcome.MembershipChanged>(added).Membership.IsLearner(N(4)), added.ToString());
        await WriteSomeAsync("with learner", 10);
        await cluster.CaughtUpAsync("learner catches up", 4);
        Assert.True(joiner.Status.SnapshotIndex > LogIndex.Zero, cluster.Describe());

        leader = await cluster.LeaderAsync("leader for promote");
        var promoted = await cluster.DriveAsync(leader.PromoteLearnerAsync(N(4)), "promote");
        Assert.True(Assert.IsType<ShardGroupOutcome.MembershipChanged>(promoted).Membership.IsVoter(N(4)), promoted.ToString());
        await WriteSomeAsync("four voters", 10);

        leader = await cluster.LeaderAsync("leader for remove");
        var removedId = Three.First(i => N(i) != leader.Node);
        var removed = await cluster.DriveAsync(leader.RemoveMemberAsync(N(removedId)), "remove an old voter");
        var membership = Assert.IsType<ShardGroupOutcome.MembershipChanged>(removed).Membership;
        Assert.False(membership.Contains(N(removedId)));
        Assert.Equal(3, membership.Voters.Length);
        await cluster.CrashAsync(removedId);
        await WriteSomeAsync("after remove", 10);

        var members = new[] { 1, 2, 3, 4 }.Where(i => i != removedId).ToArray();
        await cluster.CaughtUpAsync("members caught up", members);
        var dumps = await Task.WhenAll(members.Select(i => DumpAsync(cluster.Nodes[N(i)].Silo)));
        Assert.All(dumps, d => Assert.Equal(dumps[0], d));
        foreach (var (key, version) in versions)
        {
            Assert.Equal(version, (await ReadEntryAsync(cluster.Nodes[N(4)].Silo, key))!.Version);
        }
        Assert.Equal(70UL, versions.Values.Aggregate(0UL, (a, v) => a + v));
    }

    [Theory]
    [InlineData(ShardTurnLoop.Replica)]
    [InlineData(ShardTurnLoop.Node)]
    public async Task A_failed_commit_fails_pending_work_answers_Dropped_until_restarted_and_the_restarted_replica_serves_from_the_silo(ShardTurnLoop loop)
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 909,
            new ShardGroupOptions { MinRestartBackoff = TimeSpan.FromMilliseconds(200), MaxRestartBackoff = TimeSpan.FromSeconds(1) }, turnLoop: loop);
        var silo = new MemorySilo();
        var replica = await cluster.StartAsync(1, [1], silo);
        await cluster.WriteAsync(Upsert("a", 1), "write before the fault");

        silo.FaultInjector = op => op is SiloOperation.AppendLog ? new IOException("disk gone") : null;
        var failed = replica.ProposeAsync(Upsert("a", 2));
        await cluster.UntilAsync("the replica stops", () => failed.IsCompleted);

        // Taken by the failed incarnation (appended, maybe committed elsewhere): outcome unknown, an exception.
        var stopped = await Assert.ThrowsAsync<ShardGroupStoppedException>(() => failed);
        Assert.IsType<IOException>(stopped.InnerException);
        Assert.NotNull(replica.Status.StopReason);
        Assert.False(replica.Status.IsLeader);
        // Between incarnations nothing is taken: a clear "not done", safe to retry.
        Assert.IsType<ShardGroupOutcome.Dropped>(await replica.ProposeAsync(Upsert("a", 3)));
        Assert.IsType<ShardGroupOutcome.Dropped>(await replica.ReadIndexAsync());
        Assert.Equal(1UL, (await ReadEntryAsync(silo, "a"))!.Version);

        // The disk is back: the supervisor starts a new incarnation from the silo, which leads again and serves.
        silo.FaultInjector = null;
        await cluster.UntilAsync("the replica is restarted", () => replica.Incarnations == 2 && replica.Status is { StopReason: null, IsLeader: true });
        var applied = await cluster.WriteAsync(Upsert("a", 4), "write after the restart");
        Assert.IsType<ShardResult.EntryWritten>(applied.Result);
        Assert.Equal(2UL, (await ReadEntryAsync(silo, "a"))!.Version);
    }

    // This test and the next are of the replica actor's turns only (pinned to it): the node turn loop puts a lone voter's
    // entries and their application in one flushed batch (NodeTurnLoopTests has its own failure test).
    [Fact]
    public async Task A_write_answered_before_its_application_is_stored_is_announced_until_the_silo_holds_it()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 913, turnLoop: ShardTurnLoop.Replica);
        var silo = new MemorySilo();
        var replica = await cluster.StartAsync(1, [1], silo);
        await cluster.WriteAsync(Upsert("a", 1), "first write");
        Assert.True(replica.AnsweredWritesStored.IsCompleted);

        // The application's commit is held on the disk.
        using var release = HoldEntryWrites(silo);
        var answered = await replica.ProposeAsync(Upsert("a", 2)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.IsType<ShardGroupOutcome.Applied>(answered);
        Assert.False(replica.AnsweredWritesStored.IsCompleted);
        Assert.Equal(1UL, (await ReadEntryAsync(silo, "a"))!.Version);
        release.Set();
        await replica.AnsweredWritesStored.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2UL, (await ReadEntryAsync(silo, "a"))!.Version);
    }

    [Fact]
    public async Task A_lone_voter_answers_a_write_once_its_entry_is_durable_and_a_failed_application_is_replayed_after_the_restart()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 911,
            new ShardGroupOptions { MinRestartBackoff = TimeSpan.FromMilliseconds(200), MaxRestartBackoff = TimeSpan.FromSeconds(1) }, turnLoop: ShardTurnLoop.Replica);
        var silo = new MemorySilo();
        var replica = await cluster.StartAsync(1, [1], silo);
        await cluster.WriteAsync(Upsert("a", 1), "write before the fault");

        // The entry's batch commits; the batch that applies it fails.
        silo.FaultInjector = op => op is SiloOperation.PutEntry ? new IOException("disk gone") : null;
        var answered = await replica.ProposeAsync(Upsert("a", 2));

        // The entry was durable on the only voter, hence committed: the write is answered with its outcome.
        Assert.IsType<ShardResult.EntryWritten>(Assert.IsType<ShardGroupOutcome.Applied>(answered).Result);
        await cluster.UntilAsync("the replica stops", () => replica.Status.StopReason is not null);
        Assert.Equal(1UL, (await ReadEntryAsync(silo, "a"))!.Version);

        // The restarted replica applies the entry from its log before it serves anything else.
        silo.FaultInjector = null;
        await cluster.UntilAsync("the replica is restarted", () => replica.Incarnations == 2 && replica.Status is { StopReason: null, IsLeader: true });
        // Its status may show it leading before its first turn's application is in the (memory) silo, which completes
        // synchronously.
        await cluster.UntilAsync("the entry is replayed", () => ReadEntryAsync(silo, "a").GetAwaiter().GetResult()?.Version == 2);
        var applied = await cluster.WriteAsync(Upsert("a", 3), "write after the restart");
        Assert.IsType<ShardResult.EntryWritten>(applied.Result);
        Assert.Equal(3UL, (await ReadEntryAsync(silo, "a"))!.Version);
    }
}
