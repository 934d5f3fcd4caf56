using System.Text;
using Memo.Node;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Configuration;
using Memo.Node.Hosting;
using Memo.Protocol.Blocks;
using Memo.Testing.PowerLoss;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Testing;

/// <summary>
/// N real Memo nodes in this process on 127.0.0.1, each with an ephemeral port and its own temporary data folder;
/// the first forms the cluster and is every later node's seed. Tests synchronise with <see cref="WaitUntilAsync"/>
/// (polls the published views; a timeout names the phase and prints every node's view), never with sleeps.
/// </summary>
public sealed class InProcessCluster : IAsyncDisposable
{
    private readonly List<Slot> _slots = [];
    private readonly IReadOnlyList<string> _overrides;
    private readonly ILoggerFactory _loggerFactory;
    private readonly string _root;
    private readonly string _network;
    private readonly bool _powerLossDisks;
    private readonly MemoKeyPair? _owner;

    private InProcessCluster(IReadOnlyList<string> overrides, ILoggerFactory loggerFactory, bool powerLossDisks, MemoKeyPair? owner)
    {
        _powerLossDisks = powerLossDisks;
        _owner = owner;
        // A network (ActorSystem) name of its own: clusters of tests running at once, or a stopped node's recycled
        // ephemeral port, must never let one cluster's nodes associate with another's.
        _network = "t" + Guid.NewGuid().ToString("n")[..12];
        _overrides = overrides;
        _loggerFactory = loggerFactory;
        _root = Path.Combine(Path.GetTempPath(), "memo-cluster-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(_root);
        if (owner is not null)
        {
            var ownerFile = Path.Combine(_root, "owner.pub");
            File.WriteAllText(ownerFile, Memo.Protocol.Users.MemoUser.PublicKeyToPem(owner.PublicKey));
            _overrides = [$"memo.network.owner = \"{ownerFile.Replace("\\", "/", StringComparison.Ordinal)}\"", .. overrides];
        }
    }

    /// <summary>The akka part of <see cref="FastSettings"/> (also for node processes, as --set values). Declared first:
    /// static initializers run in order.</summary>
    public static IReadOnlyList<string> FastAkkaCluster { get; } =
    [
        "akka.cluster.gossip-interval = 100ms",
        "akka.cluster.leader-actions-interval = 100ms",
        "akka.cluster.unreachable-nodes-reaper-interval = 100ms",
        "akka.cluster.periodic-tasks-initial-delay = 100ms",
        "akka.cluster.seed-node-timeout = 1s",
        "akka.cluster.retry-unsuccessful-join-after = 500ms",
        "akka.cluster.failure-detector.heartbeat-interval = 100ms",
        // Not lower: on a loaded 2-core CI box a node's heartbeats stall for over a second, and a detector and downing
        // that quick split a healthy cluster (a 4-node test downed its survivors against each other).
        "akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s",
        "akka.cluster.failure-detector.expected-response-after = 200ms",
        "akka.remote.retry-gate-closed-for = 200ms",
    ];

    /// <summary>Fast membership settings for tests: Akka.Cluster gossip, leader actions and heartbeats every 100ms, a
    /// detector that suspects a silent peer within about 3 s, downing 3 s after that, a 1 s ring-removal delay,
    /// 4 shards.</summary>
    public static IReadOnlyList<string> FastSettings { get; } =
    [
        "memo.shards.count = 4",
        "memo.shards.ring-removal-delay = 1s",
        "memo.network.eviction-delay = 3s",
        .. FastAkkaCluster,
    ];

    /// <summary>The network (ActorSystem) name every node of this cluster runs under; unique per cluster.</summary>
    public string Network => _network;

    /// <summary>The nodes, in start order (index 0 is the seed). A stopped node's slot stays, with <see cref="Slot.Node"/> null.</summary>
    public IReadOnlyList<Slot> Nodes => _slots;

    /// <summary>One node of the cluster: its folder, port and (while running) the node.</summary>
    public sealed class Slot
    {
        internal Slot(int index, string dataDirectory) => (Index, DataDirectory) = (index, dataDirectory);

        /// <summary>Position in start order, from 0.</summary>
        public int Index { get; }

        /// <summary>The node's file log when <c>MEMO_TEST_LOGS</c> is set (kept across restarts).</summary>
        internal ILoggerFactory? FileLogs { get; set; }

        /// <summary>The node's data folder (kept across restarts).</summary>
        public string DataDirectory { get; }

        /// <summary>The port the node listens on (fixed after the first start, so a restart keeps its address).</summary>
        public int Port { get; internal set; }

        /// <summary>The node's Akka remoting port (fixed after the first start, like <see cref="Port"/>).</summary>
        public int RemotePort { get; internal set; }

        /// <summary>The running node, or null when stopped.</summary>
        public MemoNode? Node { get; internal set; }

        /// <summary>The running node; throws when stopped.</summary>
        public MemoNode Running => Node ?? throw new InvalidOperationException($"node {Index} is stopped");

        /// <summary>The node's power-loss disk (see <see cref="CutPowerAsync"/>), or null when the cluster has none.</summary>
        public PowerLossDisk? Disk { get; internal set; }

        /// <summary>The node's latest view.</summary>
        public ClusterView View => Running.Cluster.View;

        /// <summary>The network's shards (none while the node has not joined: check <see cref="UpMembers"/> too, or a
        /// condition over them holds vacuously).</summary>
        public IEnumerable<ShardId> Shards => Enumerable.Range(0, View.Network.ShardCount).Select(i => new ShardId(i));

        /// <summary>How many members the node's view has Up.</summary>
        public int UpMembers => View.Membership.MembersIn(MemberStatus.Up).Count();

        /// <summary>host:port of the gRPC API.</summary>
        public string Address => $"127.0.0.1:{Port}";

        /// <summary>host:port of Akka remoting (what seeds name).</summary>
        public string RemoteAddress => $"127.0.0.1:{RemotePort}";
    }

    /// <summary>
    /// Starts <paramref name="count"/> nodes (the first forms the cluster; the others join through it). With
    /// <paramref name="powerLossDisks"/> every node's data folder sits on a <see cref="PowerLossDisk"/>, so
    /// <see cref="CutPowerAsync"/> can take back what it had not fsynced. With <paramref name="owner"/> the network is
    /// created with that owner (<c>memo.network.owner</c>) and every node gets a storage passport it signed.
    /// </summary>
    public static async Task<InProcessCluster> StartAsync(int count, IEnumerable<string>? overrides = null, ILoggerFactory? loggerFactory = null, bool powerLossDisks = false,
        MemoKeyPair? owner = null)
    {
        var cluster = new InProcessCluster([.. FastSettings, .. overrides ?? []], loggerFactory ?? NullLoggerFactory.Instance, powerLossDisks, owner);
        try
        {
            for (var i = 0; i < count; i++)
            {
                await cluster.AddNodeAsync().ConfigureAwait(false);
            }
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return cluster;
    }

    /// <summary>Starts one more node joining through <paramref name="seedIndex"/> (node 0 by default).</summary>
    public async Task<Slot> AddNodeAsync(int seedIndex = 0, IEnumerable<string>? overrides = null)
    {
        var slot = new Slot(_slots.Count, Path.Combine(_root, $"node{_slots.Count + 1}"));
        slot.Disk = _powerLossDisks ? PowerLossDisk.Attach(slot.DataDirectory) : null;
        var seed = _slots.Count == 0 ? null : _slots[seedIndex].RemoteAddress;
        if (_owner is not null)
        {
            StoragePassportFiles.Issue(slot.DataDirectory, _owner, _network);
        }
        slot.Node = await MemoNode.StartAsync(Options(slot, seed, overrides ?? []), LoggerFactoryOf(slot)).ConfigureAwait(false);
        slot.Port = slot.Node.Endpoint.Port;
        slot.RemotePort = int.Parse(slot.Node.RemoteAddress[(slot.Node.RemoteAddress.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        _slots.Add(slot);
        return slot;
    }

    // MEMO_TEST_LOGS=<folder>: each node logs to <folder>/<network>-node<index>.log (the caller's factory is then unused).
    private ILoggerFactory LoggerFactoryOf(Slot slot)
    {
        if (Environment.GetEnvironmentVariable("MEMO_TEST_LOGS") is not { Length: > 0 } folder)
        {
            return _loggerFactory;
        }
        slot.FileLogs ??= FileLoggerProvider.CreateFactory(Path.Combine(folder, $"{_network}-node{slot.Index}.log"));
        return slot.FileLogs;
    }

    /// <summary>Stops node <paramref name="index"/> without leaving (the others see it go silent).</summary>
    public async Task StopAsync(int index)
    {
        var slot = _slots[index];
        var node = slot.Node;
        slot.Node = null;
        if (node is not null)
        {
            await node.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Kills node <paramref name="index"/>: in-process this is a stop without leave; its data stays.</summary>
    public Task KillAsync(int index) => StopAsync(index);

    /// <summary>
    /// Power loss on node <paramref name="index"/> (the cluster must have power-loss disks): its disk dies before one
    /// of its next 1-100 writes or fsyncs (the count drawn from <paramref name="random"/>, so the cut lands inside a
    /// commit; at once if the node writes nothing for a second), nothing written after that reaches it, the node
    /// stops (its writes fail, so the stop flushes nothing), and the disk comes back holding only what had been
    /// fsynced (<paramref name="mode"/>). Restart it with <see cref="RestartAsync"/>. Returns what the cut took back.
    /// </summary>
    public async Task<string> CutPowerAsync(int index, PowerLossMode mode, Random random)
    {
        var slot = _slots[index];
        var disk = slot.Disk ?? throw new InvalidOperationException("this cluster was started without power-loss disks");
        disk.CutPowerBefore(random.Next(1, 101));
        var deadline = DateTime.UtcNow.AddSeconds(1);
        while (!disk.PowerIsCut && DateTime.UtcNow < deadline)
        {
            // Polling pause, not synchronisation: the cut is re-checked each time.
            await Task.Delay(5).ConfigureAwait(false);
        }
        disk.CutPower();
        await StopAsync(index).ConfigureAwait(false);
        return disk.RestoreAfterCut(mode, random);
    }

    /// <summary>Starts a stopped node again on the same folder and port; it resumes its recorded membership.</summary>
    public async Task RestartAsync(int index)
    {
        var slot = _slots[index];
        if (slot.Node is not null)
        {
            throw new InvalidOperationException($"node {index} is running");
        }
        var seed = index == 0 ? null : _slots[0].RemoteAddress;
        slot.Node = await MemoNode.StartAsync(Options(slot, seed,
            [$"memo.node.listen = \"127.0.0.1:{slot.Port}\"", $"memo.node.remote = \"127.0.0.1:{slot.RemotePort}\""]), LoggerFactoryOf(slot)).ConfigureAwait(false);
    }

    /// <summary>The running nodes.</summary>
    public IEnumerable<Slot> Running => _slots.Where(s => s.Node is not null);

    /// <summary>
    /// Polls until <paramref name="predicate"/> holds for the running nodes' views; on timeout fails with the phase and
    /// every node's view.
    /// </summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<Slot>, bool> predicate, string phase, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var running = Running.ToList();
            if (predicate(running))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"phase '{phase}' not reached within {timeout}.\n{Describe()}");
            }
            // Polling pause, not synchronisation: the condition is re-checked each time.
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Polls until <paramref name="unmet"/> returns null for the running nodes; on timeout fails with the phase, the last
    /// reason it gave and every node's view (a bare "not reached" says nothing about which shard or member held it up).
    /// </summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<Slot>, string?> unmet, string phase, TimeSpan timeout)
    {
        string? reason = null;
        try
        {
            await WaitUntilAsync(nodes => (reason = unmet(nodes)) is null, phase, timeout).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"phase '{phase}' not reached within {timeout}: {reason}\n{Describe()}", e);
        }
    }

    /// <summary>
    /// Waits until every running node has them all Up and hosts a replica of every shard whose group has
    /// <paramref name="voters"/> voters.
    /// </summary>
    public Task WaitForVoterReplicasEverywhereAsync(int voters, TimeSpan timeout) =>
        WaitUntilAsync(nodes => nodes.All(n => n.UpMembers == nodes.Count
                && n.Shards.All(s => n.Running.Shards.TryGetReplica(s, out var r) && r.Status.Membership.Voters.Length == voters)),
            "every node hosts a voter replica of every shard", timeout);

    /// <summary>Every node's view, for failure messages.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var slot in _slots)
        {
            text.Append("node ").Append(slot.Index).Append(" (").Append(slot.Address).Append("): ")
                .AppendLine(slot.Node is null ? "stopped" : slot.View.ToString());
        }
        return text.ToString();
    }

    // A node the cluster downed had stopped serving before the test ended, and its clients saw refused connections or,
    // for calls in flight, "connection reset by peer" when its API server aborted them. Some tests down a node on
    // purpose; otherwise the nodes lost each other: all nodes of an in-process cluster share one process, so one stall
    // of that process (a neighbouring test's GC storm) silences every node at once, and their failure detectors can
    // down each other. Said on stdout, which CI keeps, so that such a failure explains itself. (A node that left did so
    // because its test made it leave.)
    private void ReportDowned(Slot slot, MemoNode node)
    {
        if (node.Exited.IsCompletedSuccessfully && node.Exited.Result == MemoNodeExit.Downed)
        {
            Console.WriteLine($"InProcessCluster {_network}: node {slot.Index} ({slot.Address}) was downed by the cluster before it was disposed " +
                "(by the test, or the nodes lost each other); calls to it after that were refused or reset.");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var slot in _slots)
        {
            var node = slot.Node;
            slot.Node = null;
            if (node is not null)
            {
                ReportDowned(slot, node);
                await node.StopAsync().ConfigureAwait(false);
            }
            slot.Disk?.Dispose();
            slot.FileLogs?.Dispose();
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS may still hold a file briefly.
        }
    }

    private MemoOptions Options(Slot slot, string? seed, IEnumerable<string> extra) => MemoOptions.Load(
        configFile: null,
        [
            "memo.node.listen = \"127.0.0.1:0\"",
            "memo.node.remote = \"127.0.0.1:0\"",
            $"memo.node.data-directory = \"{slot.DataDirectory.Replace("\\", "/", StringComparison.Ordinal)}\"",
            "memo.node.shutdown-grace-period = 1s",
            $"memo.network.name = \"{_network}\"",
            seed is null ? "memo.node.seeds = []" : $"memo.node.seeds = [\"{seed}\"]",
            .. _overrides,
            .. extra,
        ]);
}
