using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;

namespace Memo.Node.Hosting;

/// <summary>What Akka remoting needs for mutual TLS: the certificate this process presents (with its private key) and
/// the check each handshake runs on the peer's certificate.</summary>
/// <param name="Certificate">This process's certificate with its key.</param>
/// <param name="Validator">The peer check (the node's <c>PeerCertificates.Validator</c>).</param>
public sealed record RemotingTls(X509Certificate2 Certificate, CertificateValidationCallback Validator);
