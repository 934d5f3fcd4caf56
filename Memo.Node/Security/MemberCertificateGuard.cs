using Akka.Actor;
using Akka.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Protocol.Security;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Security;

/// <summary>
/// Holds every cluster member to its certificate: compares the NodeId each member address claims (role
/// <c>memo-id</c>) with the certificate that answered when this node dialled that address
/// (<see cref="PeerCertificates.PresentedAt"/>), whichever of the two it learns first, and downs a member whose address
/// presented another node's certificate or an administrator's, or that carries no memo identity. Every member runs
/// one; downing is idempotent.
/// </summary>
public sealed partial class MemberCertificateGuard : ReceiveActor
{
    private readonly PeerCertificates _certificates;
    private readonly ILogger _logger;
    private readonly Akka.Cluster.Cluster _cluster;
    private readonly Dictionary<Address, ulong> _claims = [];
    private Action<string, MemoCertificateIdentity>? _onPresented;

    /// <summary>Creates the guard.</summary>
    public MemberCertificateGuard(PeerCertificates certificates, ILogger logger)
    {
        _certificates = certificates;
        _logger = logger;
        _cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var member in state.Members)
            {
                Track(member);
            }
        });
        Receive<ClusterEvent.MemberRemoved>(e => _claims.Remove(e.Member.Address));
        Receive<ClusterEvent.IMemberEvent>(e => Track(e.Member));
        Receive<PresentedCertificate>(p => Recheck(p.HostPort, p.Identity));
    }

    /// <summary>Props for the guard.</summary>
    public static Props Props(PeerCertificates certificates, ILogger logger) =>
        Akka.Actor.Props.Create(() => new MemberCertificateGuard(certificates, logger));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));
        var self = Self;
        _onPresented = (hostPort, identity) => self.Tell(new PresentedCertificate(hostPort, identity));
        _certificates.Presented += _onPresented;
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _certificates.Presented -= _onPresented;
        _cluster.Unsubscribe(Self);
    }

    private void Track(Akka.Cluster.Member member)
    {
        if (member.Address.Equals(_cluster.SelfAddress) || member.Status is Akka.Cluster.MemberStatus.Removed)
        {
            return;
        }
        var hostPort = PeerCertificates.HostPortOf(member.Address);
        if (!MemberIdentity.TryParse(member.Roles, out var identity, out var problem))
        {
            Down(member.Address, $"it carries no memo identity ({problem})");
            return;
        }
        _claims[member.Address] = identity.Node.Value;
        if (_certificates.PresentedAt(hostPort) is { } presented)
        {
            Recheck(hostPort, presented);
        }
    }

    private void Recheck(string hostPort, MemoCertificateIdentity presented)
    {
        var entry = _claims.FirstOrDefault(c => PeerCertificates.HostPortOf(c.Key).Equals(hostPort, StringComparison.OrdinalIgnoreCase));
        if (entry.Key is null)
        {
            return;
        }
        if (presented.Role != CertificateRole.Node)
        {
            Down(entry.Key, $"it claims node {entry.Value:x16} but presented {presented}");
        }
        else if (presented.NodeId != entry.Value)
        {
            Down(entry.Key, $"it claims node {entry.Value:x16} but its certificate names node {presented.Name}");
        }
    }

    private void Down(Address address, string reason)
    {
        if (_cluster.State.Members.FirstOrDefault(m => m.Address.Equals(address)) is { Status: Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Removed })
        {
            return;
        }
        LogImpostorDowned(_logger, address.ToString(), reason);
        _cluster.Down(address);
    }

    private sealed record PresentedCertificate(string HostPort, MemoCertificateIdentity Identity);

    [LoggerMessage(EventId = 2901, Level = LogLevel.Warning, Message = "Downing the member at {Address}: {Reason}")]
    private static partial void LogImpostorDowned(ILogger logger, string address, string reason);
}
