using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Memo.Protocol.Security;

/// <summary>
/// A network's certificate authority: a P-256 key and a self-signed CA certificate (<c>ca.crt</c>, <c>ca.key</c> in
/// one folder, the key 0600), which issues the network's node and administrator certificates. Whoever holds
/// <c>ca.key</c> can admit nodes and administrators: keep it off the nodes.
/// </summary>
/// <remarks>
/// Certificates it issues carry the holder's identity in their subject (<see cref="MemoCertificateIdentity"/>), both
/// TLS usages (a node is server and client on its remoting port; the admin CLI's remoting listens too), and, for a
/// node, its host names and addresses as subject alternative names so that gRPC clients can check the name they
/// dialled. A node certificate is bound to the node's own key (<c>node.key</c>): the node presents it with that key.
/// </remarks>
public sealed class NetworkAuthority : IDisposable
{
    /// <summary>The CA certificate's file name in a CA folder.</summary>
    public const string CertificateFile = "ca.crt";

    /// <summary>The CA key's file name in a CA folder.</summary>
    public const string KeyFile = "ca.key";

    private readonly ECDsa _key;

    private NetworkAuthority(X509Certificate2 certificate, ECDsa key, string network)
    {
        Certificate = certificate;
        _key = key;
        Network = network;
    }

    /// <summary>The CA certificate (public).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The network name the CA was made for (its subject's O).</summary>
    public string Network { get; }

    /// <summary>Makes a new CA for <paramref name="network"/>, valid from now for <paramref name="validity"/>.</summary>
    public static NetworkAuthority Create(string network, TimeSpan validity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(network);
        subject.AddOrganizationalUnitName(MemoCertificateIdentity.AuthorityUnit);
        subject.AddCommonName($"memo network {network} CA");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now + validity);
        // The returned certificate carries the key; keep the public certificate and the key apart.
        var publicOnly = X509CertificateLoader.LoadCertificate(certificate.RawData);
        certificate.Dispose();
        return new NetworkAuthority(publicOnly, key, network);
    }

    /// <summary>Loads the CA of a folder made by <see cref="Save"/>.</summary>
    /// <exception cref="CertificateFileException">A file is missing or unreadable, or the key is not the certificate's.</exception>
    public static NetworkAuthority Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var certificatePath = Path.Combine(folder, CertificateFile);
        var keyPath = Path.Combine(folder, KeyFile);
        var certificate = PemFiles.LoadCertificate(certificatePath, "CA certificate");
        string keyText;
        try
        {
            keyText = File.ReadAllText(keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            certificate.Dispose();
            throw new CertificateFileException($"cannot read the CA key {keyPath}: {e.Message}", e);
        }
        var key = PemFiles.ReadKey(keyText, keyPath, Environment.GetEnvironmentVariable(PemFiles.PassphraseVariable));
        using var publicKey = certificate.GetECDsaPublicKey();
        if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            certificate.Dispose();
            key.Dispose();
            throw new CertificateFileException($"the CA key {keyPath} does not belong to the CA certificate {certificatePath}");
        }
        var network = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .FirstOrDefault(r => !r.HasMultipleElements && r.GetSingleElementType().Value == "2.5.4.10")?.GetSingleElementValue() ?? "";
        return new NetworkAuthority(certificate, key, network);
    }

    /// <summary>Writes <c>ca.crt</c> and <c>ca.key</c> (0600) into <paramref name="folder"/>, created 0700 when missing.
    /// Refuses to overwrite an existing CA: its certificates would stop working.</summary>
    public void Save(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (File.Exists(Path.Combine(folder, KeyFile)) || File.Exists(Path.Combine(folder, CertificateFile)))
        {
            throw new CertificateFileException($"{folder} already holds a network CA; certificates it issued would stop working if it were replaced. Choose another folder.");
        }
        if (!Directory.Exists(folder))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        PemFiles.WriteKey(Path.Combine(folder, KeyFile), _key);
        PemFiles.WriteCertificate(Path.Combine(folder, CertificateFile), Certificate);
    }

    /// <summary>Issues a node certificate for the key whose public half is <paramref name="nodeKey"/>, carrying
    /// <paramref name="nodeId"/> and, as subject alternative names, <paramref name="hosts"/> (IP addresses or DNS names
    /// the node's API is reached at).</summary>
    public X509Certificate2 IssueNode(ECDsa nodeKey, ulong nodeId, IEnumerable<string> hosts, TimeSpan validity) =>
        Issue(nodeKey, MemoCertificateIdentity.ForNode(nodeId, Network), hosts, validity);

    /// <summary>Issues an administrator certificate named <paramref name="name"/> for <paramref name="adminKey"/>.</summary>
    public X509Certificate2 IssueAdmin(ECDsa adminKey, string name, TimeSpan validity) =>
        Issue(adminKey, MemoCertificateIdentity.ForAdmin(name, Network), [], validity);

    private X509Certificate2 Issue(ECDsa subjectKey, MemoCertificateIdentity identity, IEnumerable<string> hosts, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(subjectKey);
        ArgumentNullException.ThrowIfNull(hosts);
        var request = new CertificateRequest(identity.ToSubject(), subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "serverAuth"), new Oid("1.3.6.1.5.5.7.3.2", "clientAuth")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var names = new SubjectAlternativeNameBuilder();
        var any = false;
        foreach (var host in hosts.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
            any = true;
        }
        if (any)
        {
            request.CertificateExtensions.Add(names.Build());
        }
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + validity;
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter;
        }
        using var issuer = Certificate.CopyWithPrivateKey(_key);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial number, as RFC 5280 asks
        return request.Create(issuer, now.AddMinutes(-5), notAfter, serial);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
