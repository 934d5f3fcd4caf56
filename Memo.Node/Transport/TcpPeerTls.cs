using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Memo.Protocol.Security;

namespace Memo.Node.Transport;

/// <summary>
/// Mutual TLS for <see cref="TcpPeerTransport"/>: this node's certificate (with its private key) and the network CA
/// that every peer's certificate must chain to. Both ends present a node certificate (TLS 1.3); the transport then
/// binds the certificate to the hello: the acceptor refuses a hello whose node id is not the client certificate's
/// NodeId, the dialer a server certificate whose NodeId is not the node it meant to reach.
/// </summary>
/// <param name="Certificate">This node's certificate, with its private key (<c>memo.node.certificate</c>).</param>
/// <param name="Trust">The network CA (<c>memo.network.ca</c>); the system's trust store plays no part.</param>
public sealed record TcpPeerTls(X509Certificate2 Certificate, NetworkTrust Trust)
{
    /// <summary>The name the dialer asks for; certificates are checked by the CA and the NodeId, never by host name.</summary>
    private const string TargetHost = "memo-node";

    /// <summary>The node identity <paramref name="presented"/> carries under the network CA, or null with the reason.</summary>
    internal MemoCertificateIdentity? Identify(X509Certificate? presented, out string problem)
    {
        if (presented is null)
        {
            problem = "the peer presented no certificate";
            return null;
        }
        var certificate = presented as X509Certificate2 ?? new X509Certificate2(presented);
        try
        {
            var identity = Trust.Check(certificate, out var refused);
            if (identity is null)
            {
                problem = refused ?? "the peer's certificate was refused";
                return null;
            }
            if (identity.Role != CertificateRole.Node)
            {
                problem = $"the peer's certificate '{certificate.Subject}' is not a node certificate";
                return null;
            }
            problem = "";
            return identity;
        }
        finally
        {
            if (!ReferenceEquals(certificate, presented))
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>The acceptor's handshake: a node certificate of the network CA is required of the dialer;
    /// <paramref name="refusal"/> receives why one was refused.</summary>
    internal SslServerAuthenticationOptions ServerOptions(Action<string> refusal) => new()
    {
        ServerCertificate = Certificate,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Accept(certificate, NodeId.None, refusal),
    };

    /// <summary>The dialer's handshake: the server must present the certificate of node <paramref name="expected"/>.</summary>
    internal SslClientAuthenticationOptions ClientOptions(NodeId expected, Action<string> refusal) => new()
    {
        TargetHost = TargetHost,
        ClientCertificates = [Certificate],
        EnabledSslProtocols = SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Accept(certificate, expected, refusal),
    };

    // The system's verdict (errors) is ignored: the network CA is not in the system's store, and host names are not
    // what identifies a node.
    private bool Accept(X509Certificate? certificate, NodeId expected, Action<string> refusal)
    {
        if (Identify(certificate, out var problem) is not { } identity)
        {
            refusal(problem);
            return false;
        }
        if (!expected.IsNone && identity.NodeId != expected.Value)
        {
            refusal($"the peer's certificate names node {new NodeId(identity.NodeId)}, not the expected node {expected}");
            return false;
        }
        return true;
    }
}
