using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using AkkaCluster = Akka.Cluster.Cluster;
using AkkaMember = Akka.Cluster.Member;
using AkkaStatus = Akka.Cluster.MemberStatus;
using ClusterEvent = Akka.Cluster.ClusterEvent;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// Follows Akka.Cluster's membership events and hands every change, mapped to memo's terms, to its owner
/// (<see cref="ClusterMembership"/>). Keeps the ring-removal bookkeeping: when a node's Up record goes away without the
/// node leaving (restart, downing, removal), its last Up record stays on the ring for the ring-removal delay.
/// </summary>
internal sealed class MembershipActor : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private readonly MemberIdentity _self;
    private readonly TimeSpan _ringRemovalDelay;
    private readonly Action<MappedMembers> _publish;
    private readonly Func<MemberIdentity, string?>? _admit;
    private readonly Configuration.PeerTransportKind? _peerTransport;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ImmutableSortedSet<AkkaMember> _members = ImmutableSortedSet<AkkaMember>.Empty;
    private ImmutableHashSet<Akka.Cluster.UniqueAddress> _unreachable = ImmutableHashSet<Akka.Cluster.UniqueAddress>.Empty;
    private Address? _leader;
    private ImmutableDictionary<NodeId, (Member Record, DateTime Until)> _lingering = ImmutableDictionary<NodeId, (Member, DateTime)>.Empty;
    private MappedMembers? _last;

    public MembershipActor(MemberIdentity self, TimeSpan ringRemovalDelay, Action<MappedMembers> publish, Func<MemberIdentity, string?>? admit = null,
        Configuration.PeerTransportKind? peerTransport = null)
    {
        _self = self;
        _admit = admit;
        _peerTransport = peerTransport;
        _ringRemovalDelay = ringRemovalDelay;
        _publish = publish;
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            _members = state.Members;
            _unreachable = state.Unreachable.Select(m => m.UniqueAddress).ToImmutableHashSet();
            _leader = state.Leader;
            Update();
        });
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            _members = _members.Remove(removed.Member);
            _unreachable = _unreachable.Remove(removed.Member.UniqueAddress);
            Update();
        });
        Receive<ClusterEvent.IMemberEvent>(changed =>
        {
            // Members compare by unique address: remove the old record of this incarnation, add the new one.
            _members = _members.Remove(changed.Member).Add(changed.Member);
            Update();
        });
        Receive<ClusterEvent.UnreachableMember>(m =>
        {
            _unreachable = _unreachable.Add(m.Member.UniqueAddress);
            Update();
        });
        Receive<ClusterEvent.ReachableMember>(m =>
        {
            _unreachable = _unreachable.Remove(m.Member.UniqueAddress);
            Update();
        });
        Receive<ClusterEvent.LeaderChanged>(m =>
        {
            _leader = m.Leader;
            Update();
        });
        Receive<Tick>(_ =>
        {
            if (_lingering.Values.Any(l => l.Until <= DateTime.UtcNow))
            {
                Update();
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        AkkaCluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));
        var period = TimeSpan.FromTicks(Math.Clamp(_ringRemovalDelay.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));
        Timers.StartPeriodicTimer("ring-removal", Tick.Instance, period);
    }

    protected override void PostStop() => AkkaCluster.Get(Context.System).Unsubscribe(Self);

    private void Update()
    {
        var now = DateTime.UtcNow;
        var lingering = _lingering.RemoveRange(_lingering.Where(l => l.Value.Until <= now).Select(l => l.Key));
        var mapped = Map(lingering);
        if (_last is not null && _ringRemovalDelay > TimeSpan.Zero)
        {
            // A node whose Up record went away without leaving lingers on the ring.
            foreach (var previous in _last.Members.Members.Values.Where(m => m.Status == MemberStatus.Up))
            {
                var status = mapped.Members.StatusOf(previous.Id);
                if (status is not (MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting) && !lingering.ContainsKey(previous.Id))
                {
                    _log.Info("Node {0} left the Up members without leaving ({1}); it stays on the ring for {2}", previous.Id,
                        status?.ToString() ?? "removed", _ringRemovalDelay);
                    lingering = lingering.SetItem(previous.Id, (previous, now + _ringRemovalDelay));
                }
            }
        }
        // A node Up again (or leaving for real) no longer lingers.
        lingering = lingering.RemoveRange(lingering.Keys.Where(n => mapped.Members.StatusOf(n) is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting));
        if (lingering != _lingering)
        {
            // Only the ring depends on what lingers: map again only when that changed.
            _lingering = lingering;
            mapped = Map(lingering);
        }
        _last = mapped;
        _publish(mapped);
    }

    private MappedMembers Map(ImmutableDictionary<NodeId, (Member Record, DateTime Until)> lingering)
    {
        // Akka keeps up-numbers internal; the age order is public, and that is all memo uses them for.
        var age = _members.Where(m => m.Status is AkkaStatus.Up or AkkaStatus.Leaving or AkkaStatus.Exiting)
            .Order(Comparer<AkkaMember>.Create((a, b) => a.Equals(b) ? 0 : a.IsOlderThan(b) ? -1 : 1))
            .Select((m, i) => (m.UniqueAddress, Number: i + 1))
            .ToDictionary(p => p.UniqueAddress, p => p.Number);
        var observed = _members.Select(m => new ObservedMember(
            HostPort(m.Address),
            ToMemo(m.Status),
            age.GetValueOrDefault(m.UniqueAddress),
            m.Roles,
            !_unreachable.Contains(m.UniqueAddress),
            _leader is not null && m.Address.Equals(_leader)));
        return AkkaMemberMapping.Map(_self, observed, lingering.ToDictionary(l => l.Key, l => l.Value.Record), _admit, _peerTransport);
    }

    internal static string HostPort(Address address) => AkkaHostPort.Of(address) ?? address.ToString();

    private static MemberStatus ToMemo(AkkaStatus status) => status switch
    {
        AkkaStatus.Joining or AkkaStatus.WeaklyUp => MemberStatus.Joining,
        AkkaStatus.Up => MemberStatus.Up,
        AkkaStatus.Leaving => MemberStatus.Leaving,
        AkkaStatus.Exiting => MemberStatus.Exiting,
        AkkaStatus.Down => MemberStatus.Down,
        AkkaStatus.Removed => MemberStatus.Removed,
        // PreparingForShutdown / ReadyForShutdown: still serving.
        _ => MemberStatus.Up,
    };
}
