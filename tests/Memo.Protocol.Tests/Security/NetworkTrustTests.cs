using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Memo.Protocol.Security;

namespace Memo.Protocol.Tests.Security;

public sealed class NetworkTrustTests
{
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);

    [Fact]
    public void A_node_certificate_from_the_network_CA_names_its_node()
    {
        using var authority = NetworkAuthority.Create("net1", Year);
        using var trust = NetworkTrust.Of(X509CertificateLoader.LoadCertificate(authority.Certificate.RawData));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = authority.IssueNode(key, 0x00ab_cdef_0123_4567, ["127.0.0.1", "node1.example"], Year);

        var identity = trust.Check(certificate, out var problem);

        Assert.True(identity is not null, problem);
        Assert.Equal(CertificateRole.Node, identity.Role);
        Assert.Equal(0x00ab_cdef_0123_4567UL, identity.NodeId);
        Assert.Equal("net1", identity.Network);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void An_admin_certificate_is_an_admin_and_names_no_node()
    {
        using var authority = NetworkAuthority.Create("memo", Year);
        using var trust = NetworkTrust.Of(X509CertificateLoader.LoadCertificate(authority.Certificate.RawData));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = authority.IssueAdmin(key, "ops@example", Year);

        var identity = trust.Check(certificate, out _);

        Assert.Equal(new MemoCertificateIdentity(CertificateRole.Admin, "ops@example", "memo"), identity);
        Assert.Equal(0UL, identity!.NodeId);
    }

    [Fact]
    public void A_certificate_from_another_CA_with_the_same_names_is_refused()
    {
        using var network = NetworkAuthority.Create("memo", Year);
        using var forger = NetworkAuthority.Create("memo", Year);
        using var trust = NetworkTrust.Of(X509CertificateLoader.LoadCertificate(network.Certificate.RawData));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var forged = forger.IssueNode(key, 42, [], Year);

        Assert.Null(trust.Check(forged, out var problem));
        Assert.Contains("not valid under the network CA", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_self_signed_certificate_carrying_a_node_subject_is_refused()
    {
        using var network = NetworkAuthority.Create("memo", Year);
        using var trust = NetworkTrust.Of(X509CertificateLoader.LoadCertificate(network.Certificate.RawData));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(MemoCertificateIdentity.ForNode(42, "memo").ToSubject(), key, HashAlgorithmName.SHA256);
        using var selfMade = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));

        Assert.Null(trust.Check(selfMade, out _));
        Assert.Null(trust.Check(null, out var none));
        Assert.Equal("no certificate was presented", none);
    }

    [Fact]
    public void An_expired_certificate_is_refused()
    {
        using var authority = NetworkAuthority.Create("memo", Year);
        using var trust = NetworkTrust.Of(X509CertificateLoader.LoadCertificate(authority.Certificate.RawData));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // Issued with a validity that ended before now: a 1-tick validity from 5 minutes in the past.
        using var expired = authority.IssueNode(key, 7, [], TimeSpan.FromMinutes(-4));

        Assert.Null(trust.Check(expired, out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void A_saved_CA_loads_back_and_its_key_file_is_owner_only()
    {
        var folder = Path.Combine(Path.GetTempPath(), "memo-ca-" + Guid.NewGuid().ToString("n"));
        try
        {
            using (var created = NetworkAuthority.Create("memo", Year))
            {
                created.Save(folder);
                Assert.Throws<CertificateFileException>(() => created.Save(folder));
            }
            using var loaded = NetworkAuthority.Load(folder);
            Assert.Equal("memo", loaded.Network);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, NetworkAuthority.KeyFile)));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
            }
            using var trust = NetworkTrust.Load(Path.Combine(folder, NetworkAuthority.CertificateFile));
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var certificate = loaded.IssueNode(key, 9, [], Year);
            Assert.Equal(9UL, trust.Check(certificate, out _)?.NodeId);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
