using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Memo.Node.Cluster.Runtime;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Security;

/// <summary>
/// Holds every member of a network with an owner to its storage passport (<see cref="StoragePassports"/>): checks a
/// member's <c>memo-storage</c> role when the member appears (Joining, before the leader can move it Up) and every
/// member again every <c>memo.security.revocation-refresh</c> (a passport revoked or expired since), and downs, with
/// the reason in the log, a member that may not store data. Every member runs one; downing is idempotent.
/// </summary>
public sealed partial class StoragePassportGuard : ReceiveActor, IWithTimers
{
    private readonly StorageTicketCheck _tickets;
    private readonly PassportRevocations _revocations;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _recheck;
    private readonly ILogger _logger;
    private readonly Akka.Cluster.Cluster _cluster;
    private readonly HashSet<Address> _downed = [];

    /// <summary>Creates the guard.</summary>
    /// <param name="tickets">The signature checks of members' tickets (shared with the membership mapping).</param>
    /// <param name="revocations">This node's copy of the revocation list.</param>
    /// <param name="clock">The clock passports expire by.</param>
    /// <param name="recheck">How often every member is checked again.</param>
    /// <param name="logger">Where refusals go (event 2902).</param>
    public StoragePassportGuard(StorageTicketCheck tickets, PassportRevocations revocations, TimeProvider clock, TimeSpan recheck, ILogger logger)
    {
        _tickets = tickets;
        _revocations = revocations;
        _clock = clock;
        _recheck = recheck;
        _logger = logger;
        _cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<ClusterEvent.CurrentClusterState>(state => CheckAll(state.Members));
        Receive<ClusterEvent.MemberRemoved>(e => _downed.Remove(e.Member.Address));
        Receive<ClusterEvent.IMemberEvent>(e => Check(e.Member));
        Receive<Recheck>(_ => CheckAll(_cluster.State.Members));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the guard.</summary>
    public static Props Props(StorageTicketCheck tickets, PassportRevocations revocations, TimeProvider clock, TimeSpan recheck, ILogger logger) =>
        Akka.Actor.Props.Create(() => new StoragePassportGuard(tickets, revocations, clock, recheck, logger));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));
        Timers.StartPeriodicTimer(nameof(Recheck), Recheck.Instance, _recheck);
    }

    /// <inheritdoc />
    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void CheckAll(IEnumerable<Akka.Cluster.Member> members)
    {
        foreach (var member in members)
        {
            Check(member);
        }
    }

    private void Check(Akka.Cluster.Member member)
    {
        // A member on its way out stores nothing new; this node itself checked its own passport at start (and the
        // others check it here).
        if (member.Address.Equals(_cluster.SelfAddress) || _downed.Contains(member.Address)
            || member.Status is not (Akka.Cluster.MemberStatus.Joining or Akka.Cluster.MemberStatus.WeaklyUp or Akka.Cluster.MemberStatus.Up or Akka.Cluster.MemberStatus.Leaving))
        {
            return;
        }
        var problem = MemberIdentity.TryParse(member.Roles, out var identity, out var noIdentity)
            ? _tickets.Verify(identity, out var passport) ?? StoragePassports.Standing(passport!, _revocations.Revoked, _clock.GetUtcNow().ToUnixTimeMilliseconds())
            : $"it carries no memo identity ({noIdentity})";
        if (problem is null)
        {
            return;
        }
        _downed.Add(member.Address);
        LogRefused(_logger, member.Address.ToString(), problem);
        _cluster.Down(member.Address);
    }

    private sealed class Recheck
    {
        public static readonly Recheck Instance = new();
    }

    [LoggerMessage(EventId = 2902, Level = LogLevel.Warning, Message = "Downing the member at {Address}: it may not store data on this network: {Reason}")]
    private static partial void LogRefused(ILogger logger, string address, string reason);
}
