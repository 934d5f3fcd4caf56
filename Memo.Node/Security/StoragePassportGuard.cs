using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Protocol.Users;
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
    private readonly NetworkAccess _access;
    private readonly PassportRevocations _revocations;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _recheck;
    private readonly ILogger _logger;
    private readonly Akka.Cluster.Cluster _cluster;
    private const int MaxVerified = 4096;
    private readonly HashSet<Address> _downed = [];
    private readonly Dictionary<string, VerifiedPassport> _verified = new(StringComparer.Ordinal);

    /// <summary>Creates the guard.</summary>
    /// <param name="access">The network's owner and name.</param>
    /// <param name="revocations">This node's copy of the revocation list.</param>
    /// <param name="clock">The clock passports expire by.</param>
    /// <param name="recheck">How often every member is checked again.</param>
    /// <param name="logger">Where refusals go (event 2902).</param>
    public StoragePassportGuard(NetworkAccess access, PassportRevocations revocations, TimeProvider clock, TimeSpan recheck, ILogger logger)
    {
        _access = access;
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
    public static Props Props(NetworkAccess access, PassportRevocations revocations, TimeProvider clock, TimeSpan recheck, ILogger logger) =>
        Akka.Actor.Props.Create(() => new StoragePassportGuard(access, revocations, clock, recheck, logger));

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
            ? Verified(identity, out var passport) ?? StoragePassports.Standing(passport!, _revocations.Revoked, _clock.GetUtcNow().ToUnixTimeMilliseconds())
            : $"it carries no memo identity ({noIdentity})";
        if (problem is null)
        {
            return;
        }
        _downed.Add(member.Address);
        LogRefused(_logger, member.Address.ToString(), problem);
        _cluster.Down(member.Address);
    }

    // The signatures are checked once per claimed NodeId and role text (a member's roles never change; the same text
    // under another NodeId is a copy, checked afresh and refused), expiry and revocation every time.
    private string? Verified(MemberIdentity identity, out VerifiedPassport? passport)
    {
        passport = null;
        if (identity.Storage is null)
        {
            return StoragePassports.NoTicket;
        }
        var claim = identity.Node + "/" + identity.Storage;
        if (_verified.TryGetValue(claim, out passport))
        {
            return null;
        }
        if (!StorageTicket.TryParseRole(identity.Storage, out var ticket, out var malformed))
        {
            return malformed;
        }
        if (StoragePassports.Verify(ticket, identity.Node, _access, out passport) is { } problem)
        {
            return problem;
        }
        if (_verified.Count >= MaxVerified)
        {
            _verified.Clear();
        }
        _verified[claim] = passport!;
        return null;
    }

    private sealed class Recheck
    {
        public static readonly Recheck Instance = new();
    }

    [LoggerMessage(EventId = 2902, Level = LogLevel.Warning, Message = "Downing the member at {Address}: it may not store data on this network: {Reason}")]
    private static partial void LogRefused(ILogger logger, string address, string reason);
}
