using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Memo.Protocol.Security;

/// <summary>
/// Trust in one network's CA and nothing else: decides whether a certificate presented in a TLS handshake was issued
/// by that CA (a chain to it alone, whatever the machine's trust store holds), is within its validity period, and
/// names a memo identity (<see cref="MemoCertificateIdentity"/>). The one check every TLS end uses: the node's
/// remoting (both directions), the admin CLI, and gRPC clients checking a node's API certificate.
/// </summary>
/// <remarks>Revocation is not checked: a network's CA has no revocation list. A certificate that must stop working is
/// retired by making a new CA (docs/security.md).</remarks>
public sealed class NetworkTrust : IDisposable
{
    private NetworkTrust(X509Certificate2 authority) => Authority = authority;

    /// <summary>The network's CA certificate.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>Trust in the CA certificate at <paramref name="caFile"/> (PEM).</summary>
    /// <exception cref="CertificateFileException">The file is missing, unreadable or not a CA certificate.</exception>
    public static NetworkTrust Load(string caFile)
    {
        var certificate = PemFiles.LoadCertificate(caFile, "CA certificate");
        if (certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            certificate.Dispose();
            throw new CertificateFileException($"{caFile} is not a CA certificate (make one with `memo network create`).");
        }
        return new NetworkTrust(certificate);
    }

    /// <summary>Trust in <paramref name="authority"/> (a CA certificate; this instance owns it from now on).</summary>
    public static NetworkTrust Of(X509Certificate2 authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        return new NetworkTrust(authority);
    }

    /// <summary>
    /// Checks <paramref name="certificate"/>: issued by this CA, valid now, naming a memo identity. Returns the
    /// identity, or null with <paramref name="problem"/> saying what is wrong.
    /// </summary>
    public MemoCertificateIdentity? Check(X509Certificate2? certificate, out string? problem)
    {
        if (certificate is null)
        {
            problem = "no certificate was presented";
            return null;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        var built = chain.Build(certificate);
        if (!built)
        {
            var reasons = chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct();
            problem = $"the certificate '{certificate.Subject}' is not valid under the network CA '{Authority.Subject}': {string.Join("; ", reasons)}";
            return null;
        }
        // CustomRootTrust only builds to the custom root, but say so explicitly: the last element is this CA.
        if (chain.ChainElements.Count < 2 || !chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(Authority.RawDataMemory.Span))
        {
            problem = $"the certificate '{certificate.Subject}' was not issued by the network CA '{Authority.Subject}'";
            return null;
        }
        if (!MemoCertificateIdentity.TryRead(certificate, out var identity, out problem))
        {
            return null;
        }
        return identity;
    }

    /// <summary>
    /// A TLS client's server-certificate check for a gRPC channel to a node's API: the chain to this CA (the system
    /// store's opinion of the chain is ignored), a node certificate, and the host name the client dialled among its
    /// names (the handshake's own name check).
    /// </summary>
    public RemoteCertificateValidationCallback ServerValidator() => (_, certificate, _, errors) =>
    {
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }
        using var presented = certificate is null ? null : new X509Certificate2(certificate);
        return Check(presented, out _) is { Role: CertificateRole.Node };
    };

    /// <inheritdoc />
    public void Dispose() => Authority.Dispose();
}
