using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Memo.Node.Security;
using Memo.Protocol.Security;

namespace Memo.Node.Tests.Security;

public sealed class PeerCertificatesTests : IDisposable
{
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);
    private readonly NetworkAuthority _authority = NetworkAuthority.Create("memo", Year);
    private readonly PeerCertificates _peers;
    private readonly List<string> _refusals = [];

    public PeerCertificatesTests()
    {
        _peers = new PeerCertificates(NetworkTrust.Of(X509CertificateLoader.LoadCertificate(_authority.Certificate.RawData)));
        _peers.Refused += (peer, reason) => _refusals.Add($"{peer}: {reason}");
    }

    [Fact]
    public void What_a_dialled_address_presents_is_recorded_for_the_guard_and_the_admin_actor()
    {
        using var node7 = Node(7);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var admin = _authority.IssueAdmin(key, "ops", Year);
        var presented = new List<string>();
        _peers.Presented += (hostPort, identity) => presented.Add($"{hostPort} {identity.Role} {identity.Name}");

        Assert.True(Validate(node7, "akka.ssl.tcp://memo@127.0.0.1:6001"));
        Assert.True(Validate(admin, "akka.ssl.tcp://memo@127.0.0.1:40000/user/admin-client"));

        Assert.Equal(7UL, _peers.PresentedAt("127.0.0.1:6001")?.NodeId);
        Assert.Equal(CertificateRole.Admin, _peers.PresentedAt("127.0.0.1:40000")?.Role);
        Assert.Null(_peers.PresentedAt("127.0.0.1:6002"));
        Assert.Equal(["127.0.0.1:6001 Node 0000000000000007", "127.0.0.1:40000 Admin ops"], presented);
        Assert.Empty(_refusals);
    }

    [Fact]
    public void A_dialled_address_presenting_a_certificate_of_another_CA_is_refused_and_not_recorded()
    {
        using var foreign = NetworkAuthority.Create("memo", Year);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var forged = foreign.IssueNode(key, 7, [], Year);

        Assert.False(Validate(forged, "akka.ssl.tcp://memo@127.0.0.1:6001"));
        Assert.Null(_peers.PresentedAt("127.0.0.1:6001"));
        Assert.Contains("not valid under the network CA", Assert.Single(_refusals), StringComparison.Ordinal);
    }

    [Fact]
    public void Inbound_connections_are_checked_for_the_CA_only()
    {
        using var node7 = Node(7);
        using var foreign = NetworkAuthority.Create("memo", Year);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var forged = foreign.IssueNode(key, 7, [], Year);

        Assert.True(Validate(node7, "[::ffff:127.0.0.1]:53211"));
        Assert.False(Validate(forged, "[::ffff:127.0.0.1]:53212"));
        Assert.False(Validate(null, "[::ffff:127.0.0.1]:53213"));
        Assert.Equal(2, _refusals.Count);
    }

    private X509Certificate2 Node(ulong id)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return _authority.IssueNode(key, id, [], Year);
    }

    private bool Validate(X509Certificate2? certificate, string peer) =>
        _peers.Validate(certificate, null, peer, SslPolicyErrors.RemoteCertificateChainErrors, NoLogger.Instance);

    public void Dispose()
    {
        _peers.Dispose();
        _authority.Dispose();
    }
}
