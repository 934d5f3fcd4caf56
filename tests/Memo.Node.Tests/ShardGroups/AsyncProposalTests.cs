using System.Diagnostics.Metrics;
using Memo.Node.Metrics;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// Async writes at the replica: <see cref="ShardGroupReplica.ProposeAcknowledgedAtAppend"/> answers once the leader's own
/// log holds the command durably, before a majority does, and its final outcome follows. Real replicas over the in-memory
/// network with manual ticks, so an isolated leader keeps leading (no ticks, no CheckQuorum step-down) while the test
/// looks at what it acknowledged.
/// </summary>
[Collection(AsyncWriteCollection.Name)]
public sealed class AsyncProposalTests(ITestOutputHelper output)
{
    private static readonly int[] Three = [1, 2, 3];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task An_async_proposal_is_acknowledged_at_the_leaders_append_then_committed_on_every_replica()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1301);
        await cluster.StartGroupAsync(Three);
        await cluster.WriteAsync(Upsert("before", 1), "a first write");
        var leader = await cluster.LeaderAsync("leader");

        var proposal = leader.ProposeAcknowledgedAtAppend(Upsert("async", 7));
        var acknowledged = await cluster.DriveAsync(proposal.Appended, "the early answer");
        var outcome = await cluster.DriveAsync(proposal.Outcome, "the final outcome");

        var appended = Assert.IsType<ShardGroupOutcome.Appended>(acknowledged);
        var applied = Assert.IsType<ShardGroupOutcome.Applied>(outcome);
        Assert.Equal(appended.Index, applied.Index);
        Assert.IsType<ShardResult.EntryWritten>(applied.Result);
        await cluster.CaughtUpAsync("every replica applies the async write", Three);
        foreach (var id in Three)
        {
            Assert.Equal(1UL, (await ReadEntryAsync(cluster.Nodes[N(id)].Silo, "async"))?.Version);
        }
    }

    [Fact]
    public async Task An_isolated_leader_acknowledges_an_async_proposal_without_a_majority_and_loses_it_to_the_next_leader()
    {
        using var metrics = new AsyncWriteCounters();
        await using var cluster = new ShardGroupTestCluster(output, seed: 1302);
        await cluster.StartGroupAsync(Three);
        await cluster.WriteAsync(Upsert("before", 1), "a first write");
        var old = await cluster.LeaderAsync("first leader");
        var oldId = (int)old.Node.Value;

        // Cut off from both followers and not ticked: it still leads, can append, and can commit nothing.
        cluster.Isolate(oldId);
        var asyncWrite = old.ProposeAcknowledgedAtAppend(Upsert("async", 7));
        var majorityWrite = old.ProposeAsync(Upsert("majority", 8));
        var acknowledged = await asyncWrite.Appended.WaitAsync(Patience);

        Assert.IsType<ShardGroupOutcome.Appended>(acknowledged);
        Assert.True(old.Status.IsLeader, $"the old leader still leads when it acknowledges: {old.Status}");
        Assert.False(asyncWrite.Outcome.IsCompleted, $"the async write is not committed without a majority: {asyncWrite.Outcome.Status}");
        Assert.False(majorityWrite.IsCompleted, "a majority write is not answered without a majority");
        Assert.Equal((1L, 1L), (metrics.Acknowledged, metrics.Uncommitted));

        // The majority side elects a leader that never saw the write; the old leader rejoins and its entry is replaced.
        var newLeader = await cluster.LeaderAsync("a new leader on the majority side");
        Assert.NotEqual(old.Node, newLeader.Node);
        await cluster.WriteAsync(Upsert("after", 2), "a write under the new leader");
        cluster.Rejoin(oldId);
        await cluster.CaughtUpAsync("the old leader catches up", Three);

        Assert.IsType<ShardGroupOutcome.Superseded>(await cluster.DriveAsync(asyncWrite.Outcome, "the async write's outcome"));
        Assert.IsType<ShardGroupOutcome.Superseded>(await cluster.DriveAsync(majorityWrite, "the majority write's outcome"));
        foreach (var id in Three)
        {
            Assert.Null(await cluster.Nodes[N(id)].Silo.ReadEntryAsync("async"));
        }
        Assert.Equal((1L, 0L, 1L), (metrics.Acknowledged, metrics.Uncommitted, metrics.Unconfirmed));
    }

    [Fact]
    public async Task A_lone_voter_answers_an_async_proposal_and_applies_it()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1303);
        var replica = await cluster.StartAsync(1, [1]);
        await cluster.LeaderAsync("the lone voter leads");

        var proposal = replica.ProposeAcknowledgedAtAppend(Upsert("solo", 3));
        var acknowledged = await cluster.DriveAsync(proposal.Appended, "the early answer");

        // A lone voter commits in the turn that appends: the early answer is the append or, when the commit came first, the outcome.
        Assert.True(acknowledged is ShardGroupOutcome.Appended or ShardGroupOutcome.Applied, $"early answer {acknowledged}");
        Assert.IsType<ShardGroupOutcome.Applied>(await cluster.DriveAsync(proposal.Outcome, "the outcome"));
        Assert.Equal(1UL, (await ReadEntryAsync(cluster.Nodes[N(1)].Silo, "solo"))?.Version);
    }

    [Fact]
    public async Task An_async_proposal_at_a_follower_is_answered_NotLeader_on_both_tasks()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1304);
        await cluster.StartGroupAsync(Three);
        var leader = await cluster.LeaderAsync("leader");
        var follower = Three.Select(cluster.Replica).First(r => r.Node != leader.Node);

        var proposal = follower.ProposeAcknowledgedAtAppend(Upsert("k", 1));

        Assert.Equal(new ShardGroupOutcome.NotLeader(leader.Node), await cluster.DriveAsync(proposal.Appended, "early answer at a follower"));
        Assert.Equal(new ShardGroupOutcome.NotLeader(leader.Node), await cluster.DriveAsync(proposal.Outcome, "outcome at a follower"));
    }

    // The async-write instruments of NodeMetrics. They are process-wide; only the tests of AsyncWriteCollection make
    // async writes (these, WriteConsistencyClusterTests and the grpc-js interop script), and they do not run in
    // parallel with each other.
    internal sealed class AsyncWriteCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _acknowledged;
        private long _uncommitted;
        private long _unconfirmed;

        public AsyncWriteCounters()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == NodeMetrics.MeterName && instrument.Name.StartsWith("memo.raft.async.", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                switch (instrument.Name)
                {
                    case "memo.raft.async.acknowledged":
                        Interlocked.Add(ref _acknowledged, value);
                        break;
                    case "memo.raft.async.uncommitted":
                        Interlocked.Add(ref _uncommitted, value);
                        break;
                    case "memo.raft.async.unconfirmed":
                        Interlocked.Add(ref _unconfirmed, value);
                        break;
                }
            });
            _listener.Start();
        }

        public long Acknowledged => Interlocked.Read(ref _acknowledged);

        public long Uncommitted => Interlocked.Read(ref _uncommitted);

        public long Unconfirmed => Interlocked.Read(ref _unconfirmed);

        public void Dispose() => _listener.Dispose();
    }
}

/// <summary>The tests that make async writes: serial, so each can count the process-wide async-write metrics exactly.</summary>
[CollectionDefinition(Name)]
public sealed class AsyncWriteCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "async writes";
}
