using System.Collections.Immutable;
using Akka.Actor;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Memo.Node.Cluster.Runtime;

// Design note: membership is Akka.Cluster's (docs/design/cluster.md).
//
// Akka.Cluster gossips the members, detects failures (its phi-accrual detector), moves members through their
// lifecycle and, with its split brain resolver (keep-majority, stable-after = the network's eviction delay), downs
// members that stay unreachable. memo adds what Akka does not know: each member's persistent NodeId, ring tokens, API
// address and network parameters travel as member roles (MemberIdentity), so a node that restarts on its data folder
// is the same node on the ring and nothing moves. MembershipActor follows Akka's events and hands every change here,
// where it becomes an immutable ClusterView (members, ring placement of every shard, this node's standing), published
// through a volatile field so routing and shards read it without locks.
//
// Joining: a node with a fresh data folder joins through its seeds (remoting endpoints), or forms a cluster when it has
// none or is the first of them. A node that was a member before joins through the members it recorded plus its seeds,
// never by forming alone at once (a restarted seed must not make an island); only a node that was alone forms again
// at once. Meanwhile it asks the recorded members whether they are in a cluster, and forms only when RestartFormation's
// rule says so: a majority of them answered that they are in none, and it has the lowest address of those that
// answered (a whole-cluster restart re-forms by itself; a lone restart joins the running majority).

/// <summary>
/// This node's membership on Akka.Cluster: publishes a <see cref="ClusterView"/> after every membership event and
/// carries out the admin operations (leave, down, join).
/// </summary>
/// <remarks>Thread safety: every public member may be called from any thread.</remarks>
public sealed partial class ClusterMembership : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly AkkaCluster _cluster;
    private readonly MemberIdentity _identity;
    private readonly string _remoteAddress;
    private readonly NetworkParameters _network;
    private readonly ImmutableArray<string> _known;
    private readonly ImmutableArray<string> _seeds;
    private readonly TimeSpan _ringRemovalDelay;
    private readonly FormationTiming _formationTiming;
    private readonly IClusterStore? _store;
    private readonly ILogger _logger;
    private readonly Func<MemberIdentity, string?>? _admit;
    private readonly Configuration.PeerTransportKind? _peerTransport;
    private readonly Lock _publishLock = new();
    private ImmutableSortedSet<string> _recorded;
    private ImmutableHashSet<string> _loggedForeign = ImmutableHashSet<string>.Empty;
    private Task _saving = Task.CompletedTask;
    private volatile ClusterView _view;
    private string? _problem;
    private bool _downedSelf;
    private IActorRef? _actor;
    private bool _formed;
    private int _started;
    private int _disposed;

    /// <summary>Creates the runtime; nothing runs until <see cref="Start"/>.</summary>
    /// <param name="system">The node's ActorSystem (with the cluster provider).</param>
    /// <param name="identity">This node's id, API address, tokens and network parameters (carried as member roles).</param>
    /// <param name="remoteAddress">host:port of this node's remoting endpoint.</param>
    /// <param name="network">The network parameters in force.</param>
    /// <param name="known">Remoting endpoints of the members recorded at the last run; empty on a first start.</param>
    /// <param name="seeds">Remoting endpoints to join through (<c>memo.node.seeds</c>).</param>
    /// <param name="ringRemovalDelay">How long a node whose Up record went away stays on the ring.</param>
    /// <param name="store">Where the members' endpoints are recorded; null keeps nothing.</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <param name="formationTiming">The timing of the whole-cluster restart rule (<see cref="RestartFormation"/>);
    /// null: <see cref="FormationTiming.Default"/>.</param>
    /// <param name="admit">Which members may be placed (<see cref="AkkaMemberMapping.Map"/>): on a network with an owner,
    /// those with a valid storage passport; null: every member of the network.</param>
    /// <param name="peerTransport">This node's <c>memo.peer.transport</c>: members on the other are not placed, and a node
    /// that joined a cluster on the other stops (<see cref="AkkaMemberMapping.PeerTransportMismatch"/>); null: not checked.</param>
    public ClusterMembership(ActorSystem system, MemberIdentity identity, string remoteAddress, NetworkParameters network,
        ImmutableArray<string> known, ImmutableArray<string> seeds, TimeSpan ringRemovalDelay, IClusterStore? store, ILoggerFactory loggerFactory,
        FormationTiming? formationTiming = null, Func<MemberIdentity, string?>? admit = null, Configuration.PeerTransportKind? peerTransport = null)
    {
        _admit = admit;
        _peerTransport = peerTransport;
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _system = system;
        _cluster = AkkaCluster.Get(system);
        _identity = identity;
        _remoteAddress = remoteAddress;
        _network = network;
        _known = known.IsDefault ? [] : known;
        _seeds = seeds.IsDefault ? [] : seeds;
        _ringRemovalDelay = ringRemovalDelay;
        _formationTiming = formationTiming ?? FormationTiming.Default;
        _store = store;
        _logger = loggerFactory.CreateLogger<ClusterMembership>();
        _recorded = [.. _known];
        _view = BuildView(0, new MappedMembers(ClusterMembers.Empty, [], ImmutableSortedDictionary<string, string>.Empty));
    }

    /// <summary>The latest published view; a volatile read, safe from any thread.</summary>
    public ClusterView View => _view;

    /// <summary>This node's id.</summary>
    public NodeId Self => _identity.Node;

    /// <summary>True when this start formed a new cluster (no seeds, or this node first, and no recorded members; or it
    /// was the only member): the node that founds the shard groups. Set by <see cref="Start"/>; never by a re-formation
    /// after a whole-cluster restart (<see cref="RestartFormation"/>), whose shard groups exist already.</summary>
    public bool FormedCluster => Volatile.Read(ref _formed);

    /// <summary>Raised after every published view, on the membership actor's thread. Handlers must return quickly and
    /// must not call back into this object synchronously; an exception from a handler is logged and ignored.</summary>
    public event Action<ClusterView>? ViewChanged;

    /// <summary>Starts following the membership and forms or joins the cluster.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The membership is already started.");
        }
        _actor = _system.ActorOf(Props.Create(() => new MembershipActor(_identity, _ringRemovalDelay, OnMembers, _admit, _peerTransport)), "memo-membership");
        var self = _cluster.SelfAddress;
        var seeds = _seeds.Select(ToAddress).ToList();
        var recorded = _known.Select(ToAddress).Distinct().ToList();
        // Every node answers other nodes' "are you in a cluster?"; a node rejoining with other members recorded also asks
        // them, and forms the cluster again itself when RestartFormation says so (a whole-cluster restart).
        var probing = recorded.Any(a => !a.Equals(self))
            ? new FormationActor.Probing(MembershipActor.HostPort(self), [.. recorded.Select(a => (MembershipActor.HostPort(a), a))], _formationTiming,
                _formationTiming.ProbeInterval, FormAfterRestart, decision => LogFormationWait(_logger, Self, decision.Reason))
            : null;
        _system.ActorOf(FormationActor.Props(() => _view.IsMember, probing), FormationActor.Name);
        if (_known.IsEmpty)
        {
            if (seeds.Count == 0 || seeds[0].Equals(self))
            {
                Volatile.Write(ref _formed, true);
                LogForming(_logger, Self, _remoteAddress, _network.Name, _network.ShardCount, _network.ReplicationFactor);
                _cluster.Join(self);
            }
            else
            {
                LogJoining(_logger, Self, string.Join(", ", _seeds));
                _cluster.JoinSeedNodes(seeds);
            }
            return;
        }
        var others = _known.Select(ToAddress).Concat(seeds).Where(a => !a.Equals(self)).Distinct().ToList();
        if (others.Count == 0)
        {
            Volatile.Write(ref _formed, true);
            LogForming(_logger, Self, _remoteAddress, _network.Name, _network.ShardCount, _network.ReplicationFactor);
            _cluster.Join(self);
        }
        else
        {
            LogRejoining(_logger, Self, string.Join(", ", others.Select(MembershipActor.HostPort)));
            _cluster.JoinSeedNodes(others);
        }
    }

    // The formation rule decided this restarting node forms the cluster: as the operator's `memo cluster join` of the
    // node to itself would. Runs on the formation actor, once. It does not set FormedCluster: the shard groups exist
    // already, and a node that founded them again would start a new one-voter group of every shard it does not host
    // beside the real one (the 5-node soak found exactly that: reads of values overwritten long before).
    private void FormAfterRestart(FormationDecision decision)
    {
        LogFormingAfterRestart(_logger, Self, decision.Reason);
        _cluster.JoinSeedNodes([_cluster.SelfAddress]);
    }

    /// <summary>Moves a member (by hex id, API or remoting address; null or empty: this node) to Leaving. It hands its
    /// shard replicas off before it exits (see <c>MemoNode</c>).</summary>
    public Task<ClusterCommandResult> LeaveAsync(string? node, CancellationToken cancellationToken)
    {
        var view = _view;
        if (!IsLive(view))
        {
            return Task.FromResult(new ClusterCommandResult(ClusterCommandStatus.NotMember, NodeId.None, $"node {Self} is not a live member, so it cannot change the membership"));
        }
        if (!TryResolve(view, node, out var member))
        {
            return Task.FromResult(new ClusterCommandResult(ClusterCommandStatus.UnknownMember, NodeId.None, $"no member has id or address '{node}'"));
        }
        if (member.Status is MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Removed)
        {
            return Task.FromResult(ClusterCommandResult.Done(member.Id));
        }
        if (member.Status == MemberStatus.Down)
        {
            return Task.FromResult(new ClusterCommandResult(ClusterCommandStatus.Refused, member.Id, $"member {member.Id} is Down; it cannot leave"));
        }
        LogLeave(_logger, member.Id, member.Address);
        _cluster.Leave(AkkaAddressOf(member));
        return Task.FromResult(ClusterCommandResult.Done(member.Id));
    }

    /// <summary>Declares a member (by hex id, API or remoting address) Down; its shards are re-replicated.</summary>
    public Task<ClusterCommandResult> DownAsync(string node, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        var view = _view;
        if (!IsLive(view))
        {
            return Task.FromResult(new ClusterCommandResult(ClusterCommandStatus.NotMember, NodeId.None, $"node {Self} is not a live member, so it cannot change the membership"));
        }
        if (!TryResolve(view, node, out var member))
        {
            return Task.FromResult(new ClusterCommandResult(ClusterCommandStatus.UnknownMember, NodeId.None, $"no member has id or address '{node}'"));
        }
        if (member.Id == Self)
        {
            return Task.FromResult(new ClusterCommandResult(ClusterCommandStatus.Refused, member.Id, "a node cannot down itself; use leave, or down it through another member"));
        }
        if (member.Status is MemberStatus.Down or MemberStatus.Removed)
        {
            return Task.FromResult(ClusterCommandResult.Done(member.Id));
        }
        LogDown(_logger, member.Id, member.Address);
        _cluster.Down(AkkaAddressOf(member));
        return Task.FromResult(ClusterCommandResult.Done(member.Id));
    }

    /// <summary>Joins the cluster of the member whose remoting endpoint is <paramref name="seed"/>; only while this node
    /// is not a member (Akka cannot move a member to another cluster: start it with an empty data folder instead).</summary>
    public Task<ClusterCommandResult> JoinAsync(string seed, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(seed);
        if (_view.IsMember)
        {
            return Task.FromResult(new ClusterCommandResult(ClusterCommandStatus.Refused, Self,
                $"node {Self} is already a member of a cluster; to join another, start it with an empty data folder and --seed {seed}"));
        }
        LogJoining(_logger, Self, seed);
        _cluster.JoinSeedNodes([ToAddress(seed)]);
        return Task.FromResult(ClusterCommandResult.Done(Self));
    }

    /// <summary>Completes with the first published view that satisfies <paramref name="predicate"/> (the current one
    /// if it does).</summary>
    public async Task<ClusterView> WaitForViewAsync(Func<ClusterView, bool> predicate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var found = new TaskCompletionSource<ClusterView>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnView(ClusterView view)
        {
            if (predicate(view))
            {
                found.TrySetResult(view);
            }
        }
        ViewChanged += OnView;
        try
        {
            OnView(_view);
            using var registration = cancellationToken.Register(() => found.TrySetCanceled(cancellationToken));
            return await found.Task.ConfigureAwait(false);
        }
        finally
        {
            ViewChanged -= OnView;
        }
    }

    /// <summary>Stops following the membership (without leaving: the ActorSystem's end takes the node out of the
    /// cluster's reach, and the split brain resolver or a restart deals with it) and waits for pending records.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        if (_actor is not null)
        {
            try
            {
                await _actor.GracefulStop(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TaskCanceledException or OperationCanceledException or AskTimeoutException)
            {
                // The ActorSystem is already terminating: the actor stops with it.
            }
        }
        Task saving;
        lock (_publishLock)
        {
            saving = _saving;
        }
        await saving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    // Runs on the membership actor.
    private void OnMembers(MappedMembers mapped)
    {
        foreach (var (address, reason) in mapped.Foreign)
        {
            if (ImmutableInterlocked.Update(ref _loggedForeign, set => set.Add(address)))
            {
                LogForeign(_logger, address, reason);
            }
        }
        CheckOwnNetwork(mapped);
        ClusterView view;
        lock (_publishLock)
        {
            view = BuildView(_view.Version + 1, mapped);
            _view = view;
            Record(view);
        }
        try
        {
            ViewChanged?.Invoke(view);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogSubscriberFailed(_logger, e);
        }
    }

    // A node made for other network parameters than the cluster it joined (or on the other peer transport) must not
    // serve: the members that were there first keep theirs; this node steps out (downs itself, so it stops) and says why.
    private void CheckOwnNetwork(MappedMembers mapped)
    {
        if (_downedSelf || mapped.Foreign.Count == 0)
        {
            return;
        }
        var selfAddress = _cluster.SelfAddress;
        var oldest = _cluster.State.Members.Where(m => m.Status == Akka.Cluster.MemberStatus.Up)
            .OrderBy(m => m, Comparer<Akka.Cluster.Member>.Create((a, b) => a.Equals(b) ? 0 : a.IsOlderThan(b) ? -1 : 1)).FirstOrDefault();
        if (oldest is null || oldest.Address.Equals(selfAddress)
            || !mapped.Foreign.TryGetValue(MembershipActor.HostPort(oldest.Address), out var reason))
        {
            return;
        }
        _downedSelf = true;
        _problem = $"this node ({_identity.DescribeNetwork()}) does not fit the cluster it joined: {reason}; it stops";
        LogOwnNetworkRefused(_logger, _problem);
        _cluster.Down(selfAddress);
    }

    private ClusterView BuildView(long version, MappedMembers mapped)
    {
        var placement = RingPlacement.Compute(Ring.FromMembers(mapped.RingMembers), _network.ShardCount, _network.ReplicationFactor);
        var status = mapped.Members.StatusOf(Self);
        var problem = _problem;
        if (status is MemberStatus.Down or MemberStatus.Removed)
        {
            problem ??= $"this node is {status}; it no longer takes part (start it with an empty data folder to join again)";
        }
        else if (status is null)
        {
            problem ??= "not a member yet (joining)";
        }
        var serving = status is { } s && s.IsLive() && !_downedSelf;
        return new ClusterView(version, Self, _identity.ApiAddress, _remoteAddress, mapped.Members, _network, placement, serving, problem);
    }

    // The remoting endpoints of the live members, recorded when they change, so a restart rejoins through them.
    private void Record(ClusterView view)
    {
        if (_store is null || view.SelfStatus is not (MemberStatus.Up or MemberStatus.Leaving))
        {
            return;
        }
        var live = view.Membership.Members.Values
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Joining)
            .Select(m => RemoteRoleAddressing.RemoteAddressIn(m.Roles))
            .OfType<string>()
            .ToImmutableSortedSet(StringComparer.Ordinal);
        if (live.SetEquals(_recorded))
        {
            return;
        }
        _recorded = live;
        var store = _store;
        var list = live.ToArray();
        _saving = _saving.ContinueWith(async _ =>
        {
            try
            {
                await store.SaveMembersAsync(list, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogRecordFailed(_logger, e);
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
    }

    private static bool IsLive(ClusterView view) => view.SelfStatus is { } status && status.IsLive();

    private static bool TryResolve(ClusterView view, string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Member? member)
    {
        var members = view.Membership;
        if (string.IsNullOrWhiteSpace(text))
        {
            return members.TryGetMember(view.Self, out member);
        }
        text = text.Trim();
        if (ulong.TryParse(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text,
                System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var id)
            && members.TryGetMember(new NodeId(id), out member))
        {
            return true;
        }
        member = members.Members.Values
            .Where(m => m.Address == text || RemoteRoleAddressing.RemoteAddressIn(m.Roles) == text)
            .OrderBy(m => m.Status.IsLive() ? 0 : 1)
            .FirstOrDefault();
        return member is not null;
    }

    private Address AkkaAddressOf(Member member) =>
        ToAddress(RemoteRoleAddressing.RemoteAddressIn(member.Roles) ?? throw new InvalidOperationException($"member {member.Id} has no remoting address"));

    /// <summary>The Akka address of the node of this network at <paramref name="hostPort"/> (or a full
    /// <c>akka.tcp://name@host:port</c> address).</summary>
    private Address ToAddress(string hostPort)
    {
        if (hostPort.Contains("://", StringComparison.Ordinal))
        {
            return Address.Parse(hostPort);
        }
        var colon = hostPort.LastIndexOf(':');
        var host = hostPort[..colon].Trim('[', ']');
        var port = int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var self = _cluster.SelfAddress;
        return new Address(self.Protocol, self.System, host, port);
    }
}
