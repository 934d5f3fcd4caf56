using Akka.Actor;
using Memo.Node.Raft;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Storage;
using Memo.Node.Transport;
using Memo.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// The node turn loop (<see cref="ShardTurnLoop.Node"/>) with several shards' replicas on one node and one silo: turns
/// of many replicas share one silo commit, and a failed commit fails every replica in it, which restart from the silo.
/// (The replica behaviour itself runs on both settings in <see cref="ShardGroupReplicaTests"/>.)
/// </summary>
public sealed class NodeTurnLoopTests(ITestOutputHelper output) : IAsyncDisposable
{
    private const int ShardCount = 8;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly ActorSystem _actors = ActorSystem.Create("node-turn-loop-test", "akka.loglevel = WARNING\nakka.log-dead-letters = off");
    private readonly ManualShardTickSource _ticks = new();
    private readonly ShardLayout _layout = new(ShardCount);
    private readonly List<ShardGroupReplica> _replicas = [];
    private InMemoryPeerTransport? _transport;

    [Theory]
    [InlineData(ShardTurnLoop.Node)]
    [InlineData(ShardTurnLoop.Replica)]
    public async Task Proposals_to_many_shards_made_together_take_fewer_silo_commits_than_shards_with_the_node_loop(ShardTurnLoop loop)
    {
        var silo = new HeldCommitSilo(new MemorySilo());
        var replicas = await StartLoneVotersAsync(silo, loop);
        // One acknowledged write each first: every replica leads and has run its first turns.
        await Task.WhenAll(replicas.Select((r, i) => ExpectWrittenAsync(r, KeyOf(i), 1)));

        // The next commit holds whoever makes it (the loop's round, or one replica's actor) until every shard's proposal
        // is queued, so the node loop's next round finds all the others at once.
        var before = silo.Commits;
        silo.HoldNextCommit();
        var writes = replicas.Select((r, i) => r.ProposeAsync(Upsert(KeyOf(i), 2))).ToList();
        Assert.True(silo.Held.Wait(Wait), "a commit was made");
        silo.Release();
        var outcomes = await Task.WhenAll(writes).WaitAsync(Wait);
        var commits = silo.Commits - before;
        output.WriteLine($"{loop}: {ShardCount} shards' proposals took {commits} silo commits");

        Assert.All(outcomes, o => Assert.IsType<ShardResult.EntryWritten>(Assert.IsType<ShardGroupOutcome.Applied>(o).Result));
        for (var i = 0; i < ShardCount; i++)
        {
            Assert.Equal(2UL, (await ReadEntryAsync(silo, KeyOf(i)))!.Version);
        }
        if (loop == ShardTurnLoop.Node)
        {
            // The held round, then one round for everything queued meanwhile.
            Assert.InRange(commits, 1, 2);
            Assert.True(NodeTurnLoop.Of(silo).Rounds > 0);
        }
        else
        {
            // Control: each replica's actor commits its own turn (a lone voter's entries, then their application).
            Assert.True(commits >= ShardCount, $"{commits} commits");
        }
    }

    [Fact]
    public async Task A_failed_round_fails_every_replica_in_it_and_they_restart_from_the_silo_keeping_acknowledged_writes()
    {
        var memory = new MemorySilo();
        var silo = new HeldCommitSilo(memory);
        var replicas = await StartLoneVotersAsync(silo, ShardTurnLoop.Node);
        await Task.WhenAll(replicas.Select((r, i) => ExpectWrittenAsync(r, KeyOf(i), 1)));

        // The disk refuses every new log entry; the held commit gathers every shard's proposal into the next round.
        var failedBefore = silo.FailedCommits;
        memory.FaultInjector = op => op is SiloOperation.AppendLog ? new IOException("injected: disk gone") : null;
        silo.HoldNextCommit();
        var writes = replicas.Select((r, i) => r.ProposeAsync(Upsert(KeyOf(i), 2))).ToList();
        Assert.True(silo.Held.Wait(Wait), "a commit was made");
        silo.Release();

        // Taken by an incarnation whose turn failed: outcome unknown, an exception; each replica stopped.
        foreach (var write in writes)
        {
            var stopped = await Assert.ThrowsAsync<ShardGroupStoppedException>(() => write.WaitAsync(Wait));
            Assert.IsType<IOException>(stopped.InnerException);
        }
        var failedCommits = silo.FailedCommits - failedBefore;
        output.WriteLine($"{ShardCount} replicas failed by {failedCommits} failed commits");
        Assert.True(failedCommits < ShardCount, $"{failedCommits} failed commits for {ShardCount} replicas: rounds held several");

        // The disk is back: every supervisor starts a new incarnation from the silo; the acknowledged writes are there
        // and the failed ones are not, and each replica serves again.
        memory.FaultInjector = null;
        await UntilAsync("every replica restarted and leads", () => replicas.All(r => r.Incarnations >= 2 && r.Status is { StopReason: null, IsLeader: true }));
        for (var i = 0; i < ShardCount; i++)
        {
            Assert.Equal(1UL, (await ReadEntryAsync(silo, KeyOf(i)))!.Version);
        }
        await Task.WhenAll(replicas.Select((r, i) => ExpectWrittenAsync(r, KeyOf(i), 3)));
        for (var i = 0; i < ShardCount; i++)
        {
            Assert.Equal(2UL, (await ReadEntryAsync(silo, KeyOf(i)))!.Version);
        }
    }

    [Fact]
    public async Task A_replica_disposed_while_its_round_commits_finishes_that_turn_first_and_the_loop_serves_the_others()
    {
        var silo = new HeldCommitSilo(new MemorySilo());
        var replicas = await StartLoneVotersAsync(silo, ShardTurnLoop.Node);
        await Task.WhenAll(replicas.Select((r, i) => ExpectWrittenAsync(r, KeyOf(i), 1)));

        // Shard 0's turn is in a round whose commit is held; the replica is disposed meanwhile (as rebalancing removes
        // one, or the node stops).
        silo.HoldNextCommit();
        var write = replicas[0].ProposeAsync(Upsert(KeyOf(0), 2));
        Assert.True(silo.Held.Wait(Wait), "the round's commit was made");
        var disposing = replicas[0].DisposeAsync().AsTask();
        // The turn owns the core until its commit ends: the disposal waits for it (the silo must not close under it).
        await Task.WhenAny(disposing, Task.Delay(200));
        Assert.False(disposing.IsCompleted, "the disposal did not wait for the turn in flight");

        silo.Release();
        await disposing.WaitAsync(Wait);
        // The turn finished (its batch is durable, so its write is answered), and nothing more is taken.
        Assert.IsType<ShardResult.EntryWritten>(Assert.IsType<ShardGroupOutcome.Applied>(await write.WaitAsync(Wait)).Result);
        Assert.Equal(2UL, (await ReadEntryAsync(silo, KeyOf(0)))!.Version);
        await Assert.ThrowsAsync<ShardGroupStoppedException>(() => replicas[0].ProposeAsync(Upsert(KeyOf(0), 3)));

        // The loop goes on serving every other replica.
        await Task.WhenAll(replicas.Skip(1).Select((r, i) => ExpectWrittenAsync(r, KeyOf(i + 1), 2)));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
        if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }
        await _actors.Terminate();
    }

    // One replica per shard on node 1, each its group's only voter, all on the same silo.
    private async Task<List<ShardGroupReplica>> StartLoneVotersAsync(ISilo silo, ShardTurnLoop loop)
    {
        var network = new InMemoryPeerNetwork(seed: 17);
        _transport = network.CreateTransport(N(1), AddressOf(N(1)));
        var options = new ShardGroupOptions { TurnLoop = loop, MinRestartBackoff = TimeSpan.FromMilliseconds(100), MaxRestartBackoff = TimeSpan.FromMilliseconds(500) };
        for (var shard = 0; shard < ShardCount; shard++)
        {
            _replicas.Add(await ShardGroupReplica.StartAsync(_actors, new ShardId(shard), _layout, N(1), new Dictionary<NodeId, string> { [N(1)] = AddressOf(N(1)) },
                silo, _transport, new RaftConfig { Id = N(1), ElectionTicks = 10, HeartbeatTicks = 1, RandomSeed = 17 }, _ticks, options, NullLogger.Instance));
        }
        await UntilAsync("every replica leads", () => _replicas.All(r => r.Status.IsLeader));
        return _replicas;
    }

    // A key the layout places in shard i.
    private string KeyOf(int shard) =>
        Enumerable.Range(0, 10_000).Select(i => $"key-{i}").First(k => _layout.ShardOf(k).Value == shard);

    private static async Task ExpectWrittenAsync(ShardGroupReplica replica, string key, int value)
    {
        var outcome = await replica.ProposeAsync(Upsert(key, value)).WaitAsync(Wait);
        Assert.IsType<ShardResult.EntryWritten>(Assert.IsType<ShardGroupOutcome.Applied>(outcome).Result);
    }

    private static async Task UntilAsync(string what, Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>Counts commits (and those that failed); once armed, the next commit blocks its caller's thread until
    /// released, so whatever queues meanwhile is there when it returns.</summary>
    private sealed class HeldCommitSilo(ISilo inner) : DelegatingSilo(inner)
    {
        private readonly ManualResetEventSlim _release = new();
        private int _armed;
        private long _commits;
        private long _failed;

        public ManualResetEventSlim Held { get; } = new();

        public long Commits => Interlocked.Read(ref _commits);

        public long FailedCommits => Interlocked.Read(ref _failed);

        public void HoldNextCommit()
        {
            Held.Reset();
            _release.Reset();
            Volatile.Write(ref _armed, 1);
        }

        public void Release() => _release.Set();

        public override Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _commits);
            if (Interlocked.Exchange(ref _armed, 0) == 1)
            {
                Held.Set();
                _release.Wait(Wait);
            }
            var commit = Inner.CommitAsync(batch, cancellationToken);
            _ = commit.ContinueWith(_ => Interlocked.Increment(ref _failed), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return commit;
        }
    }
}
