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
    public void A_dialled_member_must_present_the_certificate_of_the_node_it_claims()
    {
        using var node7 = Node(7);
        _peers.Claim("127.0.0.1:6001", 8);

        Assert.False(Validate(node7, "akka.ssl.tcp://memo@127.0.0.1:6001"));
        Assert.Null(_peers.PresentedAt("127.0.0.1:6001"));
        Assert.Contains("claims node 0000000000000008 but its certificate names node 0000000000000007", Assert.Single(_refusals), StringComparison.Ordinal);

        _peers.Claim("127.0.0.1:6001", 7);
        Assert.True(Validate(node7, "akka.ssl.tcp://memo@127.0.0.1:6001"));
        Assert.Equal(7UL, _peers.PresentedAt("127.0.0.1:6001")?.NodeId);
    }

    [Fact]
    public void An_admin_certificate_is_refused_at_a_member_address_and_recorded_elsewhere()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var admin = _authority.IssueAdmin(key, "ops", Year);
        _peers.Claim("127.0.0.1:6001", 7);

        Assert.False(Validate(admin, "akka.ssl.tcp://memo@127.0.0.1:6001"));
        Assert.True(Validate(admin, "akka.ssl.tcp://memo@127.0.0.1:40000"));
        Assert.Equal(CertificateRole.Admin, _peers.PresentedAt("127.0.0.1:40000")?.Role);
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
