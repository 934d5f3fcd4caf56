using Akka.Actor;
using Akka.Configuration;
using Akka.Pattern;
using Akka.TestKit;
using Google.Protobuf;
using Memo.Node.Raft;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Storage;
using Memo.Node.Transport;
using Memo.Node.Tests.Api.Grpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// The replica actor and its backoff supervisor in a TestKit ActorSystem whose scheduler is Akka's
/// <see cref="TestScheduler"/>: the supervisor's backoff runs on virtual time the test advances, so every restart is
/// asserted at its exact delay without waiting it out. Raft time is a <see cref="ManualShardTickSource"/> nobody ticks.
/// </summary>
public sealed class ShardReplicaActorTests(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        akka.log-dead-letters = off
        """), output: output)
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly ShardId Shard0 = new(0);

    private readonly ManualShardTickSource _ticks = new();
    private readonly InMemoryPeerNetwork _network = new(seed: 7);

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    [Fact]
    public async Task A_follower_acknowledges_an_append_only_once_it_is_durable_and_a_refused_write_lets_no_acknowledgement_leave()
    {
        // This test plays node 1, the leader, by hand; node 2 is the replica under test.
        await using var leader = _network.CreateTransport(N(1), AddressOf(N(1)));
        await using var followerTransport = _network.CreateTransport(N(2), AddressOf(N(2)));
        var silo = new MemorySilo();
        await using var follower = await StartAsync(N(2), [N(1), N(2)], silo, followerTransport);
        var append = RaftWireCodec.Encode(new RaftMessage
        {
            Kind = RaftMessageKind.Append, From = N(1), To = N(2), Term = new Term(1), Index = LogIndex.Zero, LogTerm = Term.Zero, Commit = LogIndex.Zero,
            Entries = [new RaftEntry(new LogIndex(1), new Term(1), RaftEntryKind.Normal, Upsert("a", 1).ToByteArray())],
        });

        // The disk refuses the append: the incarnation fails before it may answer.
        silo.FaultInjector = _ => new IOException("injected: the disk refused the write");
        Assert.True(follower.Deliver(N(1), append));
        await AwaitConditionAsync(() => Task.FromResult(follower.Status.StopReason is not null), Wait, message: "the follower's incarnation stops on the refused write");
        Assert.Contains("refused the write", follower.Status.StopReason);

        // Its supervisor starts it again from the silo once the first backoff has passed and the disk is back.
        silo.FaultInjector = null;
        await AwaitRestartScheduledAsync(follower, 1);
        Scheduler.Advance(MinBackoff);
        await AwaitConditionAsync(() => Task.FromResult(follower.Incarnations == 2 && follower.Status.StopReason is null), Wait,
            message: "the follower is restarted after the first backoff");
        Assert.Equal(LogIndex.Zero, follower.Status.LastIndex); // nothing of the refused turn survived, and nothing was acknowledged
        Assert.Equal(Term.Zero, follower.Status.Term);

        // The leader resends; now the entry is made durable, then acknowledged.
        Assert.True(follower.Deliver(N(1), append));
        using var deadline = new CancellationTokenSource(Wait);
        var answer = await leader.Inbound.ReadAsync(deadline.Token);
        Assert.True(RaftWireCodec.TryDecode(answer.Message.Body, out var response, out _));
        Assert.Equal(RaftMessageKind.AppendResponse, response!.Kind);
        Assert.False(response.Reject);
        Assert.Equal(new LogIndex(1), response.Index);
        Assert.Equal(new LogIndex(1), (await SiloRaftStorage.LoadAsync(silo, Shard0, CancellationToken.None)).LastIndex);
        // Exactly one acknowledgement ever left: the failed incarnation sent none.
        Assert.False(leader.Inbound.TryRead(out var extra), $"a second message left the follower: {extra.Message}");
    }

    [Fact]
    public async Task Ticks_that_fired_before_a_leader_heartbeat_arrived_are_stepped_before_it()
    {
        // Node 2 is the replica under test in the group {1, 2, 3}; the test plays the leader (node 1) and a would-be
        // candidate (node 3) by hand. A follower that heard from its leader less than election-ticks ago ignores a
        // pre-vote (the leader's lease rests on that); the test counts its ticks since the heartbeat by that rule.
        await using var leader = _network.CreateTransport(N(1), AddressOf(N(1)));
        await using var transport = _network.CreateTransport(N(2), AddressOf(N(2)));
        await using var candidate = _network.CreateTransport(N(3), AddressOf(N(3)));
        var silo = new MemorySilo();
        await using var follower = await StartAsync(N(2), [N(1), N(2), N(3)], silo, transport);
        Assert.True(follower.Deliver(N(1), Heartbeat(N(1), N(2))));
        await ExpectFromAsync(leader, RaftMessageKind.HeartbeatResponse, "the follower answers its leader's first heartbeat");

        // The follower's actor is held inside a commit (an append it must make durable), as after a slow disk: three
        // ticks fire, THEN the leader's heartbeat arrives. Both wait for the actor.
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        silo.FaultInjector = _ =>
        {
            entered.Release();
            release.Wait(Wait);
            return null;
        };
        Assert.True(follower.Deliver(N(1), Append(N(1), N(2), Upsert("a", 1).ToByteArray())));
        Assert.True(await entered.WaitAsync(Wait), "the follower's turn reaches its commit");
        silo.FaultInjector = null;
        for (var i = 0; i < 3; i++)
        {
            _ticks.Tick();
        }
        Assert.True(follower.Deliver(N(1), Heartbeat(N(1), N(2))));
        release.Set();
        await ExpectFromAsync(leader, RaftMessageKind.AppendResponse, "the follower acknowledges the append once durable");
        await ExpectFromAsync(leader, RaftMessageKind.HeartbeatResponse, "the follower answers the heartbeat that waited");

        // Ticked before the heartbeat, the stall's ticks count for nothing after it: 7 more ticks leave the follower 3
        // short of its election timeout. Stepped after it (the bug), they would put it at 10: out of the lease.
        for (var i = 0; i < 7; i++)
        {
            await TickAndSettleAsync(follower);
        }
        Assert.True(follower.Deliver(N(3), PreVote(N(3), N(2))));
        await SettleAsync(follower);
        AssertNoElectionMessage(candidate, leader, "7 ticks after the heartbeat, the follower is still in its leader's lease");

        // Control: 3 more ticks and the same pre-vote is answered, so the silence above was the lease.
        for (var i = 0; i < 3; i++)
        {
            await TickAndSettleAsync(follower);
        }
        Assert.True(follower.Deliver(N(3), PreVote(N(3), N(2))));
        await ExpectFromAsync(candidate, RaftMessageKind.PreVoteResponse, "10 ticks after the heartbeat, the follower answers a pre-vote");
    }

    [Fact]
    public async Task The_supervisor_restarts_a_failing_replica_after_a_backoff_doubling_from_the_minimum_to_the_maximum()
    {
        await using var transport = _network.CreateTransport(N(1), AddressOf(N(1)));
        var silo = new MemorySilo();
        await using var replica = await StartAsync(N(1), [N(1)], silo, transport);
        await AwaitIdleLeaderAsync(replica);

        // From now on every commit fails, so every incarnation fails at its first turn (a lone voter campaigns at once).
        silo.FaultInjector = _ => new IOException("injected: disk gone");
        var pending = replica.ProposeAsync(Upsert("a", 1));
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => pending.WaitAsync(Wait));

        TimeSpan[] expected = [MinBackoff, 2 * MinBackoff, MaxBackoff, MaxBackoff];
        for (var restart = 1; restart <= expected.Length; restart++)
        {
            await AwaitRestartScheduledAsync(replica, restart);
            await AwaitConditionAsync(() => Task.FromResult(replica.Status.StopReason is not null), Wait, message: $"incarnation {restart} has stopped");
            Scheduler.Advance(expected[restart - 1] - TimeSpan.FromMilliseconds(1));
            // Just before the backoff: no new incarnation (given time to load, had the supervisor started one).
            await Task.Delay(200);
            Assert.Equal(restart, replica.Incarnations);
            Scheduler.Advance(TimeSpan.FromMilliseconds(1));
            await AwaitConditionAsync(() => Task.FromResult(replica.Incarnations == restart + 1), Wait,
                message: $"restart {restart} happens {expected[restart - 1].TotalMilliseconds} ms (virtual) after the failure");
            Output!.WriteLine($"restart {restart}: after {expected[restart - 1].TotalMilliseconds} ms of virtual time");
        }

        // The disk comes back: the next incarnation runs, leads and serves, and a write is applied.
        await AwaitRestartScheduledAsync(replica, expected.Length + 1);
        silo.FaultInjector = null;
        Scheduler.Advance(MaxBackoff);
        await AwaitConditionAsync(() => Task.FromResult(replica.Status is { IsLeader: true }), Wait, message: "the healed replica leads again");
        Assert.IsType<ShardGroupOutcome.Applied>(await replica.ProposeAsync(Upsert("a", 2)).WaitAsync(Wait));
    }

    [Fact]
    public async Task Requests_between_incarnations_are_answered_Dropped_at_once_and_the_status_call_fails_clearly()
    {
        await using var transport = _network.CreateTransport(N(1), AddressOf(N(1)));
        var silo = new MemorySilo();
        await using var replica = await StartAsync(N(1), [N(1)], silo, transport);
        await AwaitIdleLeaderAsync(replica);
        silo.FaultInjector = _ => new IOException("injected: disk gone");
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => replica.ProposeAsync(Upsert("a", 1)).WaitAsync(Wait));
        await AwaitRestartScheduledAsync(replica, 1);

        // No incarnation runs and virtual time stands still: nothing may wait for the restart.
        var proposal = await replica.ProposeAsync(Upsert("a", 2)).WaitAsync(Wait);
        Assert.Contains("restarting", Assert.IsType<ShardGroupOutcome.Dropped>(proposal).Reason);
        Assert.IsType<ShardGroupOutcome.Dropped>(await replica.ReadIndexAsync().WaitAsync(Wait));
        Assert.IsType<ShardGroupOutcome.Dropped>(await replica.AddLearnerAsync(N(2), AddressOf(N(2))).WaitAsync(Wait));
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => replica.GetRaftStatusAsync().WaitAsync(Wait));
        Assert.False(replica.Deliver(N(2), RaftWireCodec.Encode(new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = N(2), To = N(1), Term = new Term(9) })));
        Assert.False(replica.Status.IsLeader);
    }

    [Fact]
    public async Task Requests_still_queued_when_an_incarnation_fails_are_answered_Dropped_and_what_it_had_taken_fails()
    {
        await using var transport = _network.CreateTransport(N(1), AddressOf(N(1)));
        var silo = new MemorySilo();
        await using var replica = await StartAsync(N(1), [N(1)], silo, transport);
        await AwaitIdleLeaderAsync(replica);

        // The first proposal's commit holds the actor, then fails; two more requests queue meanwhile.
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        silo.FaultInjector = _ =>
        {
            entered.Release();
            release.Wait(Wait);
            return new IOException("injected: the disk refused the write");
        };
        var taken = replica.ProposeAsync(Upsert("a", 1));
        Assert.True(await entered.WaitAsync(Wait), "the first proposal's turn reaches its commit");
        var queued = replica.ProposeAsync(Upsert("b", 2));
        var status = replica.GetRaftStatusAsync();
        release.Set();

        // Taken: it may have reached other replicas' logs, so its outcome is unknown. Queued: it did nothing, retry it.
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => taken.WaitAsync(Wait));
        Assert.Contains("stopped before it took the request", Assert.IsType<ShardGroupOutcome.Dropped>(await queued.WaitAsync(Wait)).Reason);
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => status.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_failure_and_its_restart_log_one_warning_with_the_reason_and_Akka_logs_no_error()
    {
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors.Ref, typeof(Akka.Event.Error));
        var log = new TestLoggerFactory();
        await using var transport = _network.CreateTransport(N(1), AddressOf(N(1)));
        var silo = new MemorySilo();
        await using var replica = await StartAsync(N(1), [N(1)], silo, transport, log.CreateLogger("replica"));
        await AwaitIdleLeaderAsync(replica);

        silo.FaultInjector = _ => new IOException("injected: disk gone");
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => replica.ProposeAsync(Upsert("a", 1)).WaitAsync(Wait));
        silo.FaultInjector = null;
        await AwaitRestartScheduledAsync(replica, 1);
        Scheduler.Advance(MinBackoff);
        await AwaitConditionAsync(() => Task.FromResult(replica.Incarnations == 2 && replica.Status.IsLeader), Wait, message: "the replica is restarted and leads again");

        var entries = log.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        foreach (var entry in entries)
        {
            Output!.WriteLine($"{entry.Level}: {entry.Message}");
        }
        var warning = Assert.Single(entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("injected: disk gone", warning.Message);
        Assert.IsType<IOException>(warning.Exception);
        await errors.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_replica_whose_actor_cannot_be_created_fails_its_start_with_the_reason()
    {
        await using var transport = _network.CreateTransport(N(1), AddressOf(N(1)));
        var start = ShardGroupReplica.StartAsync(Sys, Shard0, new ShardLayout(1), N(1), new Dictionary<NodeId, string> { [N(1)] = AddressOf(N(1)) }, new MemorySilo(),
            transport, new RaftConfig { Id = N(1), ElectionTicks = 10, HeartbeatTicks = 1, RandomSeed = 7 }, _ticks,
            new ShardGroupOptions { MinRestartBackoff = MinBackoff, MaxRestartBackoff = MaxBackoff, Time = new BrokenClock() }, NullLogger.Instance);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => start.WaitAsync(Wait));
        Assert.Equal(BrokenClock.Reason, failure.Message);
    }

    [Fact]
    public async Task A_disposed_replica_fails_its_pending_work_and_refuses_new_work()
    {
        await using var leaderTransport = _network.CreateTransport(N(1), AddressOf(N(1)));
        await using var transport = _network.CreateTransport(N(2), AddressOf(N(2)));
        var replica = await StartAsync(N(2), [N(1), N(2)], new MemorySilo(), transport);
        // Queued just before the disposal: the incarnation either answers it or stops first, and then the dead letters
        // answer it. Either way it completes.
        var status = replica.GetRaftStatusAsync();
        await replica.DisposeAsync();
        var failure = await Record.ExceptionAsync(() => status.WaitAsync(Wait));
        Assert.True(failure is null or ShardGroupStoppedException, $"the queued status call ended with {failure}");
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => replica.ProposeAsync(Upsert("a", 1)));
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => replica.GetRaftStatusAsync());
        Assert.False(replica.Deliver(N(1), RaftWireCodec.Encode(new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = N(1), To = N(2), Term = new Term(1) })));
        Assert.True(replica.Completion.IsCompleted);
    }

    private static ReadOnlyMemory<byte> Heartbeat(NodeId from, NodeId to) =>
        RaftWireCodec.Encode(new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = from, To = to, Term = new Term(1), Commit = LogIndex.Zero });

    private static ReadOnlyMemory<byte> Append(NodeId from, NodeId to, byte[] command) => RaftWireCodec.Encode(new RaftMessage
    {
        Kind = RaftMessageKind.Append, From = from, To = to, Term = new Term(1), Index = LogIndex.Zero, LogTerm = Term.Zero, Commit = LogIndex.Zero,
        Entries = [new RaftEntry(new LogIndex(1), new Term(1), RaftEntryKind.Normal, command)],
    });

    private static ReadOnlyMemory<byte> PreVote(NodeId from, NodeId to) => RaftWireCodec.Encode(new RaftMessage
    {
        Kind = RaftMessageKind.PreVote, From = from, To = to, Term = new Term(2), Index = new LogIndex(1), LogTerm = new Term(1),
    });

    // Reads what reached the node played by the test until a message of the kind arrives (others, like heartbeat
    // answers, are skipped).
    private static async Task ExpectFromAsync(InMemoryPeerTransport node, RaftMessageKind kind, string what)
    {
        using var deadline = new CancellationTokenSource(Wait);
        var seen = new List<RaftMessageKind>();
        try
        {
            while (true)
            {
                var inbound = await node.Inbound.ReadAsync(deadline.Token);
                Assert.True(RaftWireCodec.TryDecode(inbound.Message.Body, out var message, out _));
                if (message!.Kind == kind)
                {
                    return;
                }
                seen.Add(message.Kind);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{what}: no {kind} reached node {node.LocalNode.Value} within {Wait.TotalSeconds} s (saw {string.Join(", ", seen)})");
        }
    }

    private static void AssertNoElectionMessage(InMemoryPeerTransport candidate, InMemoryPeerTransport leader, string what)
    {
        foreach (var node in new[] { candidate, leader })
        {
            while (node.Inbound.TryRead(out var inbound))
            {
                Assert.True(RaftWireCodec.TryDecode(inbound.Message.Body, out var message, out _));
                Assert.False(message!.Kind is RaftMessageKind.PreVote or RaftMessageKind.PreVoteResponse or RaftMessageKind.Vote or RaftMessageKind.VoteResponse,
                    $"{what}, yet {message.Kind} from node {message.From.Value} reached node {node.LocalNode.Value}");
            }
        }
    }

    private async Task TickAndSettleAsync(ShardGroupReplica replica)
    {
        _ticks.Tick();
        await SettleAsync(replica);
    }

    // Two status round trips through the replica's inputs: whatever was queued before them (a tick, a message) has been
    // stepped and its turn has run.
    private static async Task SettleAsync(ShardGroupReplica replica)
    {
        await replica.GetRaftStatusAsync().WaitAsync(Wait);
        await replica.GetRaftStatusAsync().WaitAsync(Wait);
    }

    private Task<ShardGroupReplica> StartAsync(NodeId node, NodeId[] voters, ISilo silo, InMemoryPeerTransport transport, ILogger? logger = null) =>
        ShardGroupReplica.StartAsync(Sys, Shard0, new ShardLayout(1), node, voters.ToDictionary(v => v, AddressOf), silo, transport,
            new RaftConfig { Id = node, ElectionTicks = 10, HeartbeatTicks = 1, RandomSeed = 7 }, _ticks,
            new ShardGroupOptions { MinRestartBackoff = MinBackoff, MaxRestartBackoff = MaxBackoff }, logger ?? NullLogger.Instance,
            resolveAddress: AddressOf);

    // Idle: its new term's empty entry applied, so no turn of its own is about to commit.
    private Task AwaitIdleLeaderAsync(ShardGroupReplica replica) =>
        AwaitConditionAsync(() => Task.FromResult(replica.Status is { IsLeader: true } s && s.Applied == s.LastIndex && s.Applied > LogIndex.Zero), Wait,
            message: "the lone voter leads and applied its first entry");

    // A clock that cannot be read: the replica actor's constructor reads it, so creating the actor throws.
    private sealed class BrokenClock : TimeProvider
    {
        public const string Reason = "injected: the clock cannot be read";

        public override long GetTimestamp() => throw new InvalidOperationException(Reason);
    }

    // The supervisor counts a restart when it schedules it (after its failed child terminated); only then may virtual time
    // move, or the schedule would start from the advanced clock.
    private async Task AwaitRestartScheduledAsync(ShardGroupReplica replica, int restarts) =>
        await AwaitConditionAsync(async () => await RestartCountAsync(replica) >= restarts && replica.Status.StopReason is not null,
            Wait, message: $"the supervisor scheduled restart {restarts}");

    private static async Task<int> RestartCountAsync(ShardGroupReplica replica) =>
        (await replica.Supervisor.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance)).Count;
}
