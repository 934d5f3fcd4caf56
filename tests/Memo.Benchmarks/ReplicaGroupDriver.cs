using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using Memo.Node;
using Memo.Node.Raft;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Benchmarks;

/// <summary>
/// The replica runtime without the API: <c>shards</c> Raft groups of 3 real <see cref="ShardGroupReplica"/>s (one
/// node each of 3 in-process nodes on an <see cref="InMemoryPeerNetwork"/>), on <see cref="MemorySilo"/>s or SQLite silos
/// (<c>synchronous=normal</c>, in a temporary folder). Workers propose upserts or take linearizable reads at the
/// shards' leaders; the figure is the process's CPU time per operation, which is what the replica's mailbox, turn and
/// hops cost (plus the core and the silo, the same before and after a runtime change).
/// </summary>
public sealed class ReplicaGroupDriver : IAsyncDisposable
{
    private static readonly NodeId[] Nodes = [new(1), new(2), new(3)];

    private readonly List<(ShardGroupReplica Replica, InMemoryPeerTransport Transport)> _replicas = [];
    private readonly List<ISilo> _silos = [];
    private readonly List<(CancellationTokenSource Stop, Task Pump)> _pumps = [];
    private readonly TimerShardTickSource _ticks;
    private readonly ShardLayout _layout;
    private readonly string? _folder;
    private readonly ShardCommand[] _commands;
    private readonly TurnCounters _counters = new();
    private readonly Akka.Actor.ActorSystem _actors = Akka.Actor.ActorSystem.Create("replica-bench", "akka.loglevel = WARNING");

    private ReplicaGroupDriver(ShardLayout layout, TimerShardTickSource ticks, string? folder)
    {
        _layout = layout;
        _ticks = ticks;
        _folder = folder;
        _commands = [.. layout.AllShards.Select(CommandFor)];
    }

    /// <summary>Starts the groups and waits until every shard has a leader.</summary>
    public static async Task<ReplicaGroupDriver> StartAsync(int shards, bool sqlite, bool leaseReads = false)
    {
        var layout = new ShardLayout(shards);
        var ticks = new TimerShardTickSource(TimeProvider.System, TimeSpan.FromMilliseconds(20));
        var folder = sqlite ? Directory.CreateTempSubdirectory("memo-bench-").FullName : null;
        var driver = new ReplicaGroupDriver(layout, ticks, folder);
        var network = new InMemoryPeerNetwork(seed: 1);
        var voters = Nodes.ToDictionary(n => n, n => $"memory/{n.Value}");
        foreach (var node in Nodes)
        {
            ISilo silo = sqlite
                ? await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = Path.Combine(folder!, node.Value.ToString()), Synchronous = SqliteSynchronousMode.Normal })
                : new MemorySilo();
            driver._silos.Add(silo);
            var transport = network.CreateTransport(node, voters[node]);
            var dispatcher = new RaftMessageDispatcher();
            foreach (var shard in layout.AllShards)
            {
                var replica = await StartReplicaAsync(driver._actors, shard, layout, node, voters, silo, transport, ticks, leaseReads);
                dispatcher.Register(replica);
                driver._replicas.Add((replica, transport));
            }
            var stop = new CancellationTokenSource();
            driver._pumps.Add((stop, dispatcher.RunAsync(transport.Inbound, stop.Token)));
        }
        var deadline = Stopwatch.StartNew();
        while (layout.AllShards.Any(s => driver.LeaderOf(s) is null))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("not every shard elected a leader within 60 s");
            }
            await Task.Delay(20);
        }
        return driver;
    }

    // The one place that knows how a replica is made (the runtime under measurement).
    private static Task<ShardGroupReplica> StartReplicaAsync(Akka.Actor.ActorSystem actors, ShardId shard, ShardLayout layout, NodeId node, Dictionary<NodeId, string> voters,
        ISilo silo, InMemoryPeerTransport transport, IShardTickSource ticks, bool leaseReads) =>
        ShardGroupReplica.StartAsync(actors, shard, layout, node, voters, silo, transport,
            new RaftConfig { Id = node, ElectionTicks = 10, HeartbeatTicks = 1, RandomSeed = node.Value * 7919 + (ulong)shard.Value, LeaseReads = leaseReads },
            ticks, new ShardGroupOptions { TickInterval = TimeSpan.FromMilliseconds(20) }, NullLogger.Instance, resolveAddress: n => $"memory/{n.Value}");

    /// <summary>Runs <paramref name="workers"/> callers for <paramref name="duration"/>; returns operations per second, CPU µs per
    /// operation, and what the replicas did per operation (turns, Ready turns, inputs per turn, ReadIndex rounds, silo transactions).</summary>
    public async Task<ReplicaRun> RunAsync(bool reads, int workers, TimeSpan duration)
    {
        var countsBefore = _counters.Read();
        long done = 0, failed = 0;
        var stop = new CancellationTokenSource(duration);
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var shard = new ShardId(w % _layout.ShardCount);
            while (!stop.IsCancellationRequested)
            {
                if (LeaderOf(shard) is not { } leader)
                {
                    await Task.Delay(1);
                    continue;
                }
                var outcome = reads ? await leader.ReadIndexAsync() : await leader.ProposeAsync(_commands[shard.Value]);
                if (outcome is ShardGroupOutcome.Applied or ShardGroupOutcome.ReadReady)
                {
                    Interlocked.Increment(ref done);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })));
        clock.Stop();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var counts = _counters.Read();
        var ops = (double)Math.Max(1, done);
        var turns = counts.Turns - countsBefore.Turns;
        return new ReplicaRun(done / clock.Elapsed.TotalSeconds, cpu.TotalMicroseconds / ops, failed,
            turns / ops, (counts.ReadyTurns - countsBefore.ReadyTurns) / ops, (counts.Inputs - countsBefore.Inputs) / (double)Math.Max(1, turns),
            (counts.ReadIndexes - countsBefore.ReadIndexes) / ops, (counts.Commits - countsBefore.Commits) / ops);
    }

    private ShardGroupReplica? LeaderOf(ShardId shard)
    {
        ShardGroupReplica? best = null;
        foreach (var (replica, _) in _replicas)
        {
            if (replica.Shard == shard && replica.Status.IsLeader && (best is null || replica.Status.Term > best.Status.Term))
            {
                best = replica;
            }
        }
        return best;
    }

    private ShardCommand CommandFor(ShardId shard)
    {
        var key = Enumerable.Range(0, int.MaxValue).Select(i => $"bench-{i}").First(k => _layout.ShardOf(k) == shard);
        return new ShardCommand
        {
            Format = ShardStateMachine.Format,
            WriteEntry = new WriteEntry
            {
                Key = key,
                Mode = WriteMode.Upsert,
                ValueAddress = ByteString.CopyFrom(Encoding.ASCII.GetBytes($"{shard.Value,31}").Append((byte)1).ToArray()),
            },
        };
    }

    /// <summary>Stops every replica, pump and silo.</summary>
    public async ValueTask DisposeAsync()
    {
        _counters.Dispose();
        _ticks.Dispose();
        foreach (var (replica, _) in _replicas)
        {
            await replica.DisposeAsync();
        }
        foreach (var transport in _replicas.Select(r => r.Transport).Distinct())
        {
            await transport.DisposeAsync();
        }
        foreach (var (stop, pump) in _pumps)
        {
            await stop.CancelAsync();
            await pump;
        }
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
        await _actors.Terminate();
        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}

/// <summary>One run's figures: throughput, process CPU per operation, and the replicas' work per operation.</summary>
public sealed record ReplicaRun(double OpsPerSecond, double CpuMicrosPerOp, long Failed, double TurnsPerOp, double ReadyTurnsPerOp,
    double InputsPerTurn, double ReadIndexesPerOp, double CommitsPerOp);
