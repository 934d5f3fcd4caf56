using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using Akka.Actor;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Raft;
using Memo.Node.Routing;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Replicated;
using Memo.Node.Storage;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Hosting;

/// <summary>
/// Hosts this node's shard group replicas and keeps them, and the groups this node leads, in line with the ring.
/// </summary>
/// <remarks>
/// <para>Design note (docs/design/shard-groups.md, "Hosting and rebalancing"). One background loop, woken by every
/// <see cref="ClusterMembership.ViewChanged"/> and every <see cref="ShardHostOptions.ReconcileInterval"/>, does in order:</para>
/// <list type="number">
/// <item>Founding: the node that formed the cluster (its first membership view held only itself; a joiner's first
/// view always holds the member that admitted it) bootstraps every shard's group with itself as the only voter, once
/// (a silo flag records it). No other node ever bootstraps a group, so two groups of one shard cannot exist. (Up-numbers
/// cannot decide this: while several nodes are Joining, each may briefly act as leader and number itself first.)</item>
/// <item>Hosting: a replica for every shard the ring places here (<see cref="ClusterView.ShardsOf"/>); a new one
/// starts empty and waits for the leader's snapshot. Replicas found in the silo at start are resumed.</item>
/// <item>Retiring: a replica of a shard no longer placed here whose group no longer counts this node
/// (<see cref="ReplicaRetirement"/>: its own configuration, or a recent report of the group's leader) is stopped and
/// its data cleared.</item>
/// <item>Rebalancing: for every group led here, <see cref="GroupReconciler.Next"/> decides one change (add learner,
/// promote once caught up, remove, hand leadership off); at most one change per group and
/// <see cref="ShardHostOptions.MaxConcurrentMoves"/> per node run at once. A downed or leaving node drops off the
/// ring, so the same loop replaces its replicas and hands its leaderships off.</item>
/// <item>Reports: every member's replica status is polled; the best report per shard (a leader of the highest term)
/// feeds routing hints, <c>memo cluster shards</c> and the graceful-leave check (<see cref="HandedOff"/>).</item>
/// </list>
/// </remarks>
public sealed partial class ShardHost : IForwardedCallHandler, IAsyncDisposable
{
    private const string FoundedMeta = "shard-groups/founded";

    private readonly NodeId _self;
    private readonly ActorSystem _actors;
    private readonly ISilo _silo;
    private readonly IPeerTransport _transport;
    private readonly ClusterMembership _cluster;
    private readonly RaftConfig _raftConfig;
    private readonly ShardGroupOptions _groupOptions;
    private readonly ShardHostOptions _options;
    private readonly IShardTickSource _ticks;
    private readonly ShardForwarder _forwarder;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<ShardId, ShardGroupReplica> _replicas = new();
    private readonly Dictionary<ShardId, Task> _moves = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private volatile ImmutableDictionary<(ShardId, NodeId), ReplicaReport> _reports = ImmutableDictionary<(ShardId, NodeId), ReplicaReport>.Empty;
    private bool _founded;
    private DateTime _nextPoll;
    private DateTime _nextUsage;
    private Task? _loop;
    private Task? _poll;
    private Task? _usage;
    // The last count of what each hosted replica holds (UsageOf); written by the counting task, read by any thread.
    private readonly ConcurrentDictionary<ShardId, SiloShardUsage> _usages = new();

    private ShardHost(ActorSystem actors, NodeId self, ISilo silo, IPeerTransport transport, ClusterMembership cluster, ShardLayout layout, RaftConfig raftConfig,
        ShardGroupOptions groupOptions, ShardHostOptions options, IShardTickSource ticks, ILoggerFactory loggerFactory)
    {
        _self = self;
        _actors = actors;
        _silo = silo;
        _transport = transport;
        _cluster = cluster;
        Layout = layout;
        _raftConfig = raftConfig;
        _groupOptions = groupOptions with { BootstrapWithSnapshot = true };
        _options = options;
        _ticks = ticks;
        _forwarder = new ShardForwarder(transport, node => cluster.View.AddressOf(node),
            options.Forwarding with { MaxMessageBytes = groupOptions.MaxMessageBytes }, loggerFactory.CreateLogger<ShardForwarder>());
        _logger = loggerFactory.CreateLogger<ShardHost>();
        _loggerFactory = loggerFactory;
        Copies = new Memo.Node.Blocks.Copies.BlockCopyStore(self, silo, _forwarder, () => cluster.View, layout, options.Copies,
            loggerFactory.CreateLogger<Memo.Node.Blocks.Copies.BlockCopyStore>());
    }

    /// <summary>Routes inbound Raft messages to this node's replicas; the node's inbound pump calls <see cref="RaftMessageDispatcher.Dispatch"/>.</summary>
    public RaftMessageDispatcher Dispatcher { get; } = new();

    /// <summary>Forwards this node's requests to other nodes and serves theirs with this host over the peer links; the
    /// node's inbound pump hands it every <see cref="PeerChannelKind.Forwarding"/> message.</summary>
    public ShardForwarder Forwarder => _forwarder;

    /// <summary>The network's shard layout.</summary>
    public ShardLayout Layout { get; }

    /// <summary>This node.</summary>
    public NodeId Self => _self;

    /// <summary>The silo the replicas apply to (reads of committed state).</summary>
    public ISilo Silo => _silo;

    /// <summary>This node's membership runtime (placement, addresses).</summary>
    public ClusterMembership Cluster => _cluster;

    /// <summary>The replicas hosted now.</summary>
    public IEnumerable<ShardGroupReplica> Replicas => _replicas.Values;

    /// <summary>Opens the replicas the silo holds and starts the loop.</summary>
    /// <param name="actors">The node's ActorSystem: each replica is an actor under its own backoff supervisor there.</param>
    /// <param name="self">This node.</param>
    /// <param name="silo">The node's silo.</param>
    /// <param name="transport">The node's peer transport.</param>
    /// <param name="cluster">The membership (views, addresses).</param>
    /// <param name="layout">The shard layout.</param>
    /// <param name="raftConfig">The Raft core options (its id must be <paramref name="self"/>).</param>
    /// <param name="groupOptions">Per-replica limits.</param>
    /// <param name="options">Hosting and rebalancing options.</param>
    /// <param name="ticks">Logical time for every replica.</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    public static async Task<ShardHost> StartAsync(ActorSystem actors, NodeId self, ISilo silo, IPeerTransport transport, ClusterMembership cluster, ShardLayout layout,
        RaftConfig raftConfig, ShardGroupOptions groupOptions, ShardHostOptions options, IShardTickSource ticks,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new ArgumentException("Invalid shard host options: " + string.Join("; ", problems), nameof(options));
        }
        ArgumentNullException.ThrowIfNull(actors);
        var host = new ShardHost(actors, self, silo, transport, cluster, layout, raftConfig, groupOptions, options, ticks, loggerFactory);
        try
        {
            host._founded = await silo.ReadMetaAsync(FoundedMeta, cancellationToken).ConfigureAwait(false) is { Length: > 0 };
            foreach (var shard in layout.AllShards)
            {
                if (await silo.ReadRaftStateAsync(shard, cancellationToken).ConfigureAwait(false) is not null)
                {
                    await host.StartReplicaAsync(shard, bootstrap: false, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        host._forwarder.ServeWith(host);
        host.Copies.Start();
        cluster.ViewChanged += host.OnViewChanged;
        host.OnViewChanged(cluster.View);
        host._loop = Task.Run(host.RunAsync);
        return host;
    }

    /// <summary>Shard moves (replica set changes this node leads) running now, for metrics and the dashboard. Read from
    /// other threads without a lock: a gauge may be one move off while the loop changes the set.</summary>
    public int MovesInFlight => _moves.Count;

    /// <summary>This node's replica of <paramref name="shard"/>, when it hosts one.</summary>
    public bool TryGetReplica(ShardId shard, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ShardGroupReplica? replica) =>
        _replicas.TryGetValue(shard, out replica);

    /// <summary>
    /// The best known report of <paramref name="shard"/>'s group: this node's replica when it leads, else the fresh
    /// report of a leader with the highest term; null when no leader is known.
    /// </summary>
    public ReplicaReport? LeaderReport(ShardId shard)
    {
        if (_replicas.TryGetValue(shard, out var local) && local.Status.IsLeader)
        {
            return ReportOf(local.Status, DateTime.UtcNow, UsageOf(shard));
        }
        var freshAfter = DateTime.UtcNow - _options.ReportFreshness;
        ReplicaReport? best = null;
        foreach (var report in _reports.Values)
        {
            if (report.Shard == shard && report.IsLeader && report.ReceivedUtc >= freshAfter && (best is null || report.Term > best.Term))
            {
                best = report;
            }
        }
        return best;
    }

    /// <summary>The status of every replica hosted here.</summary>
    public IReadOnlyList<ReplicaReport> LocalReports()
    {
        var now = DateTime.UtcNow;
        return _replicas.Values.Select(r => ReportOf(r.Status, now, UsageOf(r.Shard))).OrderBy(r => r.Shard).ToList();
    }

    /// <summary>
    /// The graceful-leave check: true when no shard group counts <paramref name="node"/> as a member any more, judged
    /// from a fresh leader report of every shard. A shard without one holds the node back.
    /// </summary>
    public bool HandedOff(NodeId node)
    {
        foreach (var shard in Layout.AllShards)
        {
            if (LeaderReport(shard) is not { } report || report.Membership.Contains(node))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Stops the loop, every move and every replica (what is durable stays).</summary>
    public async ValueTask DisposeAsync()
    {
        _cluster.ViewChanged -= OnViewChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        // Forwarded requests in progress end first (unanswered: their callers' waits end), then nobody else calls the replicas.
        await _forwarder.DisposeAsync().ConfigureAwait(false);
        await Copies.DisposeAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        if (_poll is not null)
        {
            await _poll.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        foreach (var move in _moves.Values)
        {
            await move.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        foreach (var replica in _replicas.Values)
        {
            Dispatcher.Unregister(replica);
            await replica.DisposeAsync().ConfigureAwait(false);
        }
        _replicas.Clear();
        _stopping.Dispose();
    }

    // Runs on the membership actor for every view: wakes the loop.
    private void OnViewChanged(ClusterView view) => _wake.Writer.TryWrite(true);

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                using (var pause = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    pause.CancelAfter(_options.ReconcileInterval);
                    try
                    {
                        await _wake.Reader.ReadAsync(pause.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!token.IsCancellationRequested)
                    {
                        // The interval passed without a view change: reconcile anyway.
                    }
                }
                await TurnAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogTurnFailed(e);
            }
        }
    }

    private async Task TurnAsync(CancellationToken cancellationToken)
    {
        foreach (var done in _moves.Where(m => m.Value.IsCompleted).Select(m => m.Key).ToList())
        {
            _moves.Remove(done);
        }
        var view = _cluster.View;
        if (view.IsMember && view.IsServing)
        {
            await FoundAsync(view, cancellationToken).ConfigureAwait(false);
            var placed = view.ShardsOf(_self).ToHashSet();
            foreach (var shard in placed)
            {
                if (!_replicas.ContainsKey(shard))
                {
                    await StartReplicaAsync(shard, bootstrap: false, cancellationToken).ConfigureAwait(false);
                }
            }
            await RetireAsync(placed, cancellationToken).ConfigureAwait(false);
            Rebalance(view);
        }
        // Counting reads every row of a shard: beside the turns, so a big shard holds nothing up. The first count waits
        // one interval, not to scan every hosted shard while a node that just started catches up.
        if (_nextUsage == default)
        {
            _nextUsage = DateTime.UtcNow + _options.UsageInterval;
        }
        if (DateTime.UtcNow >= _nextUsage && (_usage is null || _usage.IsCompleted))
        {
            _nextUsage = DateTime.UtcNow + _options.UsageInterval;
            _usage = MeasureUsageAsync(cancellationToken);
        }
        // Polling runs beside the turns: a silent peer must not hold rebalancing up for the call's deadline.
        if (DateTime.UtcNow >= _nextPoll && (_poll is null || _poll.IsCompleted))
        {
            _nextPoll = DateTime.UtcNow + _options.StatusPollInterval;
            _poll = PollSafelyAsync(view, cancellationToken);
        }
    }

    private async Task FoundAsync(ClusterView view, CancellationToken cancellationToken)
    {
        // Only the node that formed the cluster founds the groups; a node's first view of a cluster it joins may show it
        // alone (Akka publishes the members one event at a time), so counting members would found twice.
        if (_founded || !_cluster.FormedCluster)
        {
            return;
        }
        foreach (var shard in Layout.AllShards)
        {
            if (!_replicas.ContainsKey(shard))
            {
                await StartReplicaAsync(shard, bootstrap: true, cancellationToken).ConfigureAwait(false);
            }
        }
        await _silo.CommitAsync(new SiloBatch().PutMeta(FoundedMeta, [1]), cancellationToken).ConfigureAwait(false);
        _founded = true;
        LogFounded(Layout.ShardCount);
    }

    private async Task StartReplicaAsync(ShardId shard, bool bootstrap, CancellationToken cancellationToken)
    {
        var voters = bootstrap
            ? new Dictionary<NodeId, string> { [_self] = _cluster.View.SelfAddress }
            : new Dictionary<NodeId, string>();
        var replica = await ShardGroupReplica.StartAsync(_actors, shard, Layout, _self, voters, _silo, _transport, _raftConfig, _ticks, _groupOptions,
            _loggerFactory.CreateLogger<ShardGroupReplica>(), node => _cluster.View.AddressOf(node), node => _cluster.View.ReplicasOf(shard).Nodes.Contains(node),
            cancellationToken).ConfigureAwait(false);
        _replicas[shard] = replica;
        Dispatcher.Register(replica);
        LogReplicaStarted(shard, bootstrap);
    }

    private async Task RetireAsync(HashSet<ShardId> placed, CancellationToken cancellationToken)
    {
        foreach (var (shard, replica) in _replicas.ToList())
        {
            if (placed.Contains(shard))
            {
                continue;
            }
            // Within the last two polls: a report that predates this replica's latest change says nothing of it.
            var status = replica.Status;
            if (!ReplicaRetirement.LeftGroup(_self, status, LeaderReport(shard), DateTime.UtcNow, 2 * _options.StatusPollInterval))
            {
                continue;
            }
            _replicas.TryRemove(shard, out _);
            Dispatcher.Unregister(replica);
            await replica.DisposeAsync().ConfigureAwait(false);
            var batch = new SiloBatch();
            ShardGroupReplica.StageClear(shard, batch);
            await _silo.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
            LogReplicaRetired(shard, status);
        }
    }

    private void Rebalance(ClusterView view)
    {
        foreach (var (shard, replica) in _replicas)
        {
            if (_moves.Count >= _options.MaxConcurrentMoves)
            {
                return;
            }
            var status = replica.Status;
            if (!status.IsLeader || _moves.ContainsKey(shard))
            {
                continue;
            }
            var desired = view.ReplicasOf(shard);
            if (desired.Count == 0 || (status.Membership.Learners.IsEmpty && status.Membership.Voters.SequenceEqual(desired.Nodes.Order())))
            {
                continue;
            }
            _moves[shard] = MoveAsync(replica, desired, view, _stopping.Token);
        }
    }

    private async Task MoveAsync(ShardGroupReplica replica, ReplicaSet desired, ClusterView view, CancellationToken cancellationToken)
    {
        try
        {
            var status = await replica.GetRaftStatusAsync(cancellationToken).ConfigureAwait(false);
            if (status.Role != RaftRole.Leader)
            {
                return;
            }
            var step = GroupReconciler.Next(_self, status.Membership, desired, status.Progress, status.LastIndex, _options.CatchUpLagEntries, view.AddressOf);
            if (step is null)
            {
                return;
            }
            var outcome = step switch
            {
                GroupStep.AddLearner add => await replica.AddLearnerAsync(add.Node, add.Address, cancellationToken).ConfigureAwait(false),
                GroupStep.Promote promote => await replica.PromoteLearnerAsync(promote.Node, cancellationToken).ConfigureAwait(false),
                GroupStep.Remove remove => await replica.RemoveMemberAsync(remove.Node, cancellationToken).ConfigureAwait(false),
                GroupStep.TransferLeadership transfer => await replica.TransferLeadershipAsync(transfer.Target, cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"Unknown group step {step}."),
            };
            LogMove(replica.Shard, step.ToString(), outcome.ToString());
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ShardGroupStoppedException)
        {
            // The replica stopped (disposed or faulted); the next turn sees it.
        }
        catch (Exception e)
        {
            LogMoveFailed(e, replica.Shard);
        }
    }

    private async Task PollSafelyAsync(ClusterView view, CancellationToken cancellationToken)
    {
        try
        {
            await PollAsync(view, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogTurnFailed(e);
        }
    }

    private async Task PollAsync(ClusterView view, CancellationToken cancellationToken)
    {
        var peers = view.Membership.Members.Values
            .Where(m => m.Id != _self && m.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Joining or MemberStatus.Exiting)
            .ToList();
        // Over the peer links, like forwarded requests: a peer that does not answer within PeerCallTimeout keeps its last reports.
        var answers = await Task.WhenAll(peers.Select(async member =>
            (member.Id, Reply: await _forwarder.StatusAsync(member.Id, _options.PeerCallTimeout, cancellationToken).ConfigureAwait(false))))
            .ConfigureAwait(false);
        var now = DateTime.UtcNow;
        var reports = _reports.ToBuilder();
        foreach (var key in reports.Keys.Where(k => !view.Membership.Members.ContainsKey(k.Item2) || k.Item2 == _self).ToList())
        {
            reports.Remove(key);
        }
        foreach (var (node, reply) in answers)
        {
            if (reply is null)
            {
                continue;
            }
            foreach (var key in reports.Keys.Where(k => k.Item2 == node).ToList())
            {
                reports.Remove(key);
            }
            foreach (var r in reply.Replicas)
            {
                if (r.Shard < Layout.ShardCount)
                {
                    var shard = new ShardId((int)r.Shard);
                    reports[(shard, node)] = new ReplicaReport(shard, node, r.IsLeader, new NodeId(r.Leader), new Term(r.Term), new LogIndex(r.Applied),
                        RaftMembership.Create(r.Voters.Select(v => new NodeId(v)), r.Learners.Select(l => new NodeId(l))), now, UsageFrom(r.Usage));
                }
            }
        }
        _reports = reports.ToImmutable();
    }

    /// <summary>This node's last count of what its replica of <paramref name="shard"/> holds; null before the first count or
    /// when it hosts none.</summary>
    public SiloShardUsage? UsageOf(ShardId shard) =>
        _replicas.ContainsKey(shard) && _usages.TryGetValue(shard, out var usage) ? usage : null;

    private async Task MeasureUsageAsync(CancellationToken cancellationToken)
    {
        foreach (var shard in _replicas.Keys.ToList())
        {
            try
            {
                _usages[shard] = await _silo.MeasureShardAsync(shard, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A view for operators: a failed count keeps the last one and is tried again next time.
                LogUsageFailed(e, shard);
            }
        }
        foreach (var gone in _usages.Keys.Where(s => !_replicas.ContainsKey(s)).ToList())
        {
            _usages.TryRemove(gone, out _);
        }
    }

    private static ReplicaReport ReportOf(ShardGroupStatus status, DateTime now, SiloShardUsage? usage = null) =>
        new(status.Shard, status.Node, status.IsLeader, status.Leader, status.Term, status.Applied, status.Membership, now, usage);

    private static SiloShardUsage? UsageFrom(Wire.ReplicaUsageMessage? message) => message is null ? null : new SiloShardUsage(
        (long)message.Entries, (long)message.EntryBytes, (long)message.Blocks, (long)message.BlockBytes,
        (long)message.Copies, (long)message.CopyBytes, (long)message.LogEntries, (long)message.LogBytes);
}
