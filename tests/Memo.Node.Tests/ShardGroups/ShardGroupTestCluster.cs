using System.Text;
using Akka.Actor;
using Google.Protobuf;
using Memo.Node.Raft;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// Several real <see cref="ShardGroupReplica"/>s of one shard in this process, each with its own silo and
/// transport on one <see cref="InMemoryPeerNetwork"/>. Time is a <see cref="ManualShardTickSource"/> the test
/// drives; every wait is bounded in ticks and reports its phase and every replica's state on timeout.
/// </summary>
internal sealed class ShardGroupTestCluster : IAsyncDisposable
{
    // Shard 0 so that a one-shard layout (the default) places every key and block in the group under test.
    public static readonly ShardId Shard = new(0);

    // Wall time between ticks, so messages of one tick are handled before the next (the in-memory transport
    // and the loops are asynchronous). Only the pace depends on it: every assertion is on state.
    private static readonly TimeSpan TickPause = TimeSpan.FromMilliseconds(3);

    private readonly ITestOutputHelper _output;
    private readonly ManualShardTickSource _ticks = new();
    private readonly Dictionary<Term, NodeId> _leaderOfTerm = [];
    private readonly HashSet<NodeId> _isolated = [];
    private readonly Func<RaftConfig, RaftConfig> _configure;
    // Nodes started with a tick source of their own: ticked with the others until the test detaches them.
    private readonly Dictionary<NodeId, (ManualShardTickSource Ticks, bool Detached)> _ownTicks = [];
    // The replicas' actors (each replica is an actor under its backoff supervisor); one system for every node here.
    private readonly ActorSystem _actors = ActorSystem.Create("shard-group-test", "akka.loglevel = WARNING\nakka.log-dead-letters = off");

    public ShardGroupTestCluster(ITestOutputHelper output, int seed, ShardGroupOptions? options = null, ShardLayout? layout = null,
        Func<RaftConfig, RaftConfig>? configure = null, ShardTurnLoop? turnLoop = null)
    {
        _output = output;
        _configure = configure ?? (c => c);
        Seed = seed;
        Layout = layout ?? new ShardLayout(1);
        Network = new InMemoryPeerNetwork(seed);
        Options = options ?? new ShardGroupOptions();
        if (turnLoop is { } loop)
        {
            Options = Options with { TurnLoop = loop };
        }
        output.WriteLine($"seed {seed}, turns run by {Options.TurnLoop}");
    }

    public int Seed { get; }

    public InMemoryPeerNetwork Network { get; }

    public ShardGroupOptions Options { get; }

    /// <summary>The network's layout the replicas check commands against (<see cref="Shard"/> is their shard).</summary>
    public ShardLayout Layout { get; }

    public Dictionary<NodeId, TestReplicaNode> Nodes { get; } = [];

    public static NodeId N(int i) => new((ulong)i);

    public static string AddressOf(NodeId node) => $"memory/{node.Value}";

    public ShardGroupReplica Replica(int i) => Nodes[N(i)].Replica!;

    /// <summary>
    /// Starts (or restarts) a node's replica on its silo (a new MemorySilo when the node has none yet). With
    /// <paramref name="ownTicks"/> the node has a tick source of its own, ticked with the others until
    /// <see cref="DetachTicks"/> hands it to the test.
    /// </summary>
    public async Task<ShardGroupReplica> StartAsync(int id, IEnumerable<int> initialVoters, ISilo? silo = null, ManualShardTickSource? ownTicks = null)
    {
        var node = N(id);
        if (!Nodes.TryGetValue(node, out var state))
        {
            state = new TestReplicaNode(node, silo ?? new MemorySilo());
            Nodes[node] = state;
        }
        else if (silo is not null)
        {
            state.Silo = silo;
        }
        if (state.Replica is not null)
        {
            throw new InvalidOperationException($"node {id} is running");
        }
        state.Transport = Network.CreateTransport(node, AddressOf(node));
        var raft = _configure(new RaftConfig { Id = node, ElectionTicks = 10, HeartbeatTicks = 1, RandomSeed = (ulong)Seed });
        var voters = initialVoters.ToDictionary(N, v => AddressOf(N(v)));
        if (ownTicks is not null)
        {
            _ownTicks[node] = (ownTicks, false);
        }
        state.Replica = await ShardGroupReplica.StartAsync(
            _actors, Shard, Layout, node, voters, state.Silo, state.Transport, raft, ownTicks ?? (IShardTickSource)_ticks, Options, NullLogger.Instance,
            resolveAddress: n => AddressOf(n));
        state.Dispatcher = new RaftMessageDispatcher();
        state.Dispatcher.Register(state.Replica);
        state.PumpStop = new CancellationTokenSource();
        state.Pump = state.Dispatcher.RunAsync(state.Transport.Inbound, state.PumpStop.Token);
        return state.Replica;
    }

    /// <summary>Starts a replica on each of <paramref name="ids"/>, every one of them an initial voter, each on a new MemorySilo.</summary>
    public async Task StartGroupAsync(int[] ids)
    {
        foreach (var id in ids)
        {
            await StartAsync(id, ids);
        }
    }

    /// <summary>Kills a node's replica and takes it off the network; its silo (what was durable) stays.</summary>
    public async Task CrashAsync(int id)
    {
        var state = Nodes[N(id)];
        await state.StopAsync();
    }

    /// <summary>Cuts the node off from every other; it no longer counts as a candidate leader for <see cref="CurrentLeader"/>.</summary>
    public void Isolate(int id)
    {
        _isolated.Add(N(id));
        Network.Isolate(N(id));
    }

    public void Rejoin(int id)
    {
        _isolated.Remove(N(id));
        Network.Rejoin(N(id));
    }

    public void Tick()
    {
        TickAttached();
        CheckOneLeaderPerTerm();
    }

    /// <summary>From now on the node's own tick source (see <see cref="StartAsync"/>) ticks only when the test ticks it.</summary>
    public ManualShardTickSource DetachTicks(int id)
    {
        var ticks = _ownTicks[N(id)].Ticks;
        _ownTicks[N(id)] = (ticks, true);
        return ticks;
    }

    private void TickAttached()
    {
        _ticks.Tick();
        foreach (var (ticks, detached) in _ownTicks.Values)
        {
            if (!detached)
            {
                ticks.Tick();
            }
        }
    }

    /// <summary>Ticks until <paramref name="condition"/> holds; fails with the phase and every replica's state after <paramref name="maxTicks"/>.</summary>
    public async Task UntilAsync(string phase, Func<bool> condition, int maxTicks = 1500)
    {
        for (var i = 0; i < maxTicks; i++)
        {
            CheckOneLeaderPerTerm();
            if (condition())
            {
                return;
            }
            TickAttached();
            await Task.Delay(TickPause);
        }
        CheckOneLeaderPerTerm();
        if (!condition())
        {
            throw new TimeoutException($"[{phase}] not reached after {maxTicks} ticks (seed {Seed}):\n{Describe()}");
        }
    }

    /// <summary>Ticks until <paramref name="task"/> completes (bounded) and returns its result.</summary>
    public async Task<T> DriveAsync<T>(Task<T> task, string phase, int maxTicks = 1500)
    {
        await UntilAsync(phase, () => task.IsCompleted, maxTicks);
        return await task;
    }

    /// <summary>The live replica that leads the highest term, once one exists.</summary>
    public async Task<ShardGroupReplica> LeaderAsync(string phase)
    {
        ShardGroupReplica? leader = null;
        await UntilAsync(phase + ": a leader", () => (leader = CurrentLeader()) is not null);
        return leader!;
    }

    public ShardGroupReplica? CurrentLeader()
    {
        var live = Nodes.Values.Where(n => n.Replica is not null && !_isolated.Contains(n.Id)).Select(n => n.Replica!).ToList();
        if (live.Count == 0)
        {
            return null;
        }
        var maxTerm = live.Max(r => r.Status.Term);
        return live.FirstOrDefault(r => r.Status.IsLeader && r.Status.Term == maxTerm);
    }

    /// <summary>Proposes <paramref name="command"/> at the leader until it is applied (retrying NotLeader, Dropped and Superseded).</summary>
    public async Task<ShardGroupOutcome.Applied> WriteAsync(ShardCommand command, string phase)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var leader = await LeaderAsync(phase);
            var outcome = await DriveAsync(leader.ProposeAsync(command), $"{phase}: proposal at node {leader.Node.Value}");
            switch (outcome)
            {
                case ShardGroupOutcome.Applied applied:
                    return applied;
                case ShardGroupOutcome.NotLeader or ShardGroupOutcome.Dropped or ShardGroupOutcome.Superseded:
                    Tick();
                    await Task.Delay(TickPause);
                    continue;
                default:
                    throw new InvalidOperationException($"[{phase}] unexpected outcome {outcome}");
            }
        }
        throw new TimeoutException($"[{phase}] no attempt applied (seed {Seed}):\n{Describe()}");
    }

    /// <summary>Ticks until every running replica in <paramref name="ids"/> has applied as far as the leader has committed.</summary>
    public async Task CaughtUpAsync(string phase, params int[] ids)
    {
        await UntilAsync(phase, () =>
        {
            var leader = CurrentLeader();
            return leader is not null && ids.All(i => Replica(i).Status.Applied >= leader.Status.Commit);
        });
    }

    public string Describe() =>
        string.Join("\n", Nodes.Values.Select(n => n.Replica is null ? $"node {n.Id.Value}: down" : n.Replica.Status.ToString()));

    /// <summary>Every block and entry of the shard in a silo, in scan order, as text.</summary>
    public static async Task<List<string>> DumpAsync(ISilo silo)
    {
        var dump = new List<string>();
        SiloShardPosition? after = null;
        while (true)
        {
            var page = await silo.ScanShardAsync(Shard, after, 256);
            dump.AddRange(page.Select(r => $"{(object?)r.Block ?? r.Key} = {Convert.ToHexString(r.Value)}"));
            if (page.Count < 256)
            {
                return dump;
            }
            after = page[^1].Position;
        }
    }

    public static async Task<KvEntry?> ReadEntryAsync(ISilo silo, string key) =>
        await silo.ReadEntryAsync(key) is { } bytes ? KvEntry.Parser.ParseFrom(bytes) : null;

    /// <summary>
    /// Holds every entry write of <paramref name="silo"/> (a write's application) until the returned gate is set (60 s at
    /// most); its log and state writes go on. Disposing the gate does not release it: set it first.
    /// </summary>
    public static ManualResetEventSlim HoldEntryWrites(MemorySilo silo)
    {
        var release = new ManualResetEventSlim();
        silo.FaultInjector = op =>
        {
            if (op is SiloOperation.PutEntry)
            {
                release.Wait(TimeSpan.FromSeconds(60));
            }
            return null;
        };
        return release;
    }

    public static ShardCommand Upsert(string key, int value) => new()
    {
        Format = ShardStateMachine.Format,
        WriteEntry = new WriteEntry
        {
            Key = key,
            Mode = WriteMode.Upsert,
            ValueAddress = ByteString.CopyFrom(Encoding.ASCII.GetBytes($"{value,31}").Append((byte)1).ToArray()),
        },
    };

    private void CheckOneLeaderPerTerm()
    {
        foreach (var node in Nodes.Values)
        {
            if (node.Replica?.Status is { IsLeader: true } status)
            {
                if (_leaderOfTerm.TryGetValue(status.Term, out var other) && other != status.Node)
                {
                    throw new InvalidOperationException($"two leaders in term {status.Term}: nodes {other.Value} and {status.Node.Value} (seed {Seed})");
                }
                _leaderOfTerm[status.Term] = status.Node;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes.Values)
        {
            await node.StopAsync();
            await node.Silo.DisposeAsync();
        }
        await _actors.Terminate();
    }
}

/// <summary>One node of a <see cref="ShardGroupTestCluster"/>: its silo outlives its replica (crash and restart).</summary>
internal sealed class TestReplicaNode(NodeId id, ISilo silo)
{
    public NodeId Id { get; } = id;

    public ISilo Silo { get; set; } = silo;

    public ShardGroupReplica? Replica { get; set; }

    public InMemoryPeerTransport? Transport { get; set; }

    public RaftMessageDispatcher? Dispatcher { get; set; }

    public CancellationTokenSource? PumpStop { get; set; }

    public Task? Pump { get; set; }

    public async Task StopAsync()
    {
        if (Replica is not null)
        {
            await Replica.DisposeAsync();
            Replica = null;
        }
        if (Transport is not null)
        {
            await Transport.DisposeAsync();
            Transport = null;
        }
        if (PumpStop is not null)
        {
            await PumpStop.CancelAsync();
            await Pump!;
            PumpStop.Dispose();
            PumpStop = null;
        }
    }
}
