using Memo.Testing;
using Memo.Node.Raft;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Node.Tests.Transport;
using Memo.Protocol.Blocks;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// The lease margin against the replica actor's turn order (soak 4's stale read, docs/testing.md). A leader that a
/// quorum acknowledged at time h serves reads alone until h + <see cref="RaftConfig.LeaseTicks"/>, trusting each
/// acknowledging voter to refuse candidates for <see cref="RaftConfig.ElectionTicks"/> of its own ticks after it
/// heard the leader. A follower whose actor stalled in a commit has ticks queued that passed BEFORE the leader's heartbeat it
/// finds in its inbox; a turn that steps its inputs before those ticks counts them after the heartbeat, and the
/// voter's window ends up to 3 ticks (MaxTicksPerTurn) early, inside the leader's lease.
/// </summary>
public sealed class StalledFollowerLeaseTests(ITestOutputHelper output)
{
    private static readonly int[] Three = [1, 2, 3];
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);

    /// <remarks>
    /// With <paramref name="votersUseTheirClock"/> false the core times its voter's side of the lease by ticks alone
    /// (<see cref="RaftFaults.VoterLeaseTimedByTicksOnly"/>), so only the actor's turn order (ticks first, 311b774) keeps the
    /// promise: this case fails with the order reversed. True is production: the core also counts an election timeout
    /// of its clock from the heartbeat, which no order of ticks can shorten.
    /// </remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_follower_that_stalled_refuses_a_vote_inside_the_lease_of_the_heartbeat_it_found_with_its_queued_ticks(bool votersUseTheirClock)
    {
        var clock = new ManualTimeProvider();
        var options = new ShardGroupOptions { Time = clock, TickInterval = TickInterval };
        await using var cluster = new ShardGroupTestCluster(output, seed: 4225, options,
            configure: c => c with
            {
                CheckQuorum = true, PreVote = true, LeaseReads = true,
                Faults = votersUseTheirClock ? RaftFaults.None : RaftFaults.VoterLeaseTimedByTicksOnly,
            });
        // Node 2 is the follower under test: its own tick source, so its ticks can fall between the others'.
        var followerTicks = new ManualShardTickSource();
        var silos = Three.ToDictionary(i => i, _ => new StallableSilo(new MemorySilo()));
        foreach (var id in Three)
        {
            await cluster.StartAsync(id, Three, silos[id], id == 2 ? followerTicks : null);
        }
        await cluster.WriteAsync(Upsert("k", 1), "first write");
        var leader = await cluster.LeaderAsync("leader");
        if (leader.Node == N(2))
        {
            await cluster.DriveAsync(leader.TransferLeadershipAsync(N(1)), "hand leadership away from node 2");
            await cluster.UntilAsync("node 1 leads", () => cluster.Replica(1).Status.IsLeader);
            leader = cluster.Replica(1);
        }
        await cluster.WriteAsync(Upsert("k", 2), "second write");
        await cluster.CaughtUpAsync("every replica applied", 1, 2, 3);
        var follower = cluster.Replica(2);
        var leaderId = leader.Node;
        var candidateId = N(leaderId == N(1) ? 3 : 1);
        var term = leader.Status.Term;
        var ticks = cluster.DetachTicks(2);
        var config = new RaftConfig { Id = N(2), ElectionTicks = 10 };

        // The follower's loop stalls in a commit (the leader's next append) ...
        silos[2].StallNextCommit();
        var write = leader.ProposeAsync(Upsert("k", 3));
        await silos[2].Stalled.WaitAsync(TimeSpan.FromSeconds(10));
        await write.WaitAsync(TimeSpan.FromSeconds(10)); // committed by the leader and the other follower
        // ... and hears nothing more from the leader than the heartbeat below (no later message resets its timer).
        cluster.Network.Block(leaderId, N(2));
        await Task.Delay(50);
        var followerCommit = follower.Status.Commit; // as of before the stall: never more than the leader sent it
        var lastIndex = leader.Status.LastIndex;     // the stalled append's entry included
        var start = Now();

        // Three of its ticks pass while it is stalled (at +0.5, +1.5, +2.5 intervals), then, at +3, the leader's
        // heartbeat reaches its mailbox: every queued tick passed BEFORE the heartbeat.
        var ticksBefore = follower.TicksTaken;
        clock.Advance(TickInterval / 2);
        for (var i = 0; i < 3; i++)
        {
            ticks.Tick();
            clock.Advance(i < 2 ? TickInterval : TickInterval / 2);
        }
        var heardAt = Now();
        Assert.True(follower.Deliver(leaderId, RaftWireCodec.Encode(new RaftMessage
        {
            Kind = RaftMessageKind.Heartbeat, From = leaderId, To = N(2), Term = term, Commit = followerCommit,
        })));
        silos[2].Release();
        await UntilTicksTaken(ticksBefore + 3, "the stalled turn takes its queued ticks");

        // Seven more ticks at +3.5 ... +9.5: the follower has heard the leader 6.5 intervals ago, inside the lease
        // the leader earned from that heartbeat (LeaseTicks = 7 intervals from h).
        clock.Advance(TickInterval / 2);
        for (var i = 0; i < 7; i++)
        {
            ticks.Tick();
            await UntilTicksTaken(ticksBefore + 4 + i, $"tick {4 + i} after the stall");
            if (i < 6)
            {
                clock.Advance(TickInterval);
            }
        }
        var voteAt = Now();
        Assert.True(voteAt - heardAt < config.LeaseTicks, $"the vote request must come inside the lease: {voteAt - heardAt} >= {config.LeaseTicks}");

        // A candidate the leader cannot reach asks for the follower's vote in the next term, with a log as long.
        Assert.True(follower.Deliver(candidateId, RaftWireCodec.Encode(new RaftMessage
        {
            Kind = RaftMessageKind.Vote, From = candidateId, To = N(2), Term = term.Next(), LogTerm = term, Index = lastIndex,
        })));
        var after = await follower.GetRaftStatusAsync();
        output.WriteLine($"heartbeat at +{heardAt - start:F1} intervals, vote request at +{voteAt - start:F1} ({voteAt - heardAt:F1} after it; "
            + $"lease {config.LeaseTicks:F1}); follower after the vote request: {after}");
        Assert.Equal(term, after.Term);
        Assert.NotEqual(candidateId, after.Vote);
        cluster.Network.Heal(leaderId, N(2));
        return;

        double Now() => clock.GetTimestamp() / (double)TickInterval.Ticks;

        async Task UntilTicksTaken(long count, string phase)
        {
            for (var waited = 0; follower.TicksTaken < count; waited++)
            {
                if (waited > 2000)
                {
                    throw new TimeoutException($"[{phase}] the follower took {follower.TicksTaken} ticks, expected {count}:\n{cluster.Describe()}");
                }
                await Task.Delay(5);
            }
        }
    }

    /// <summary>A silo whose next commit, once armed, waits until released: the replica actor's stall in a commit.</summary>
    private sealed class StallableSilo(ISilo inner) : DelegatingSilo(inner)
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _armed;

        public Task Stalled => _stalled.Task;

        public void StallNextCommit() => Volatile.Write(ref _armed, 1);

        public void Release() => _released.TrySetResult();

        public override async Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _armed, 0) == 1)
            {
                _stalled.TrySetResult();
                await _released.Task;
            }
            await Inner.CommitAsync(batch, cancellationToken);
        }

    }
}
