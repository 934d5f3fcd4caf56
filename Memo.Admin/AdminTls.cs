using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;

namespace Memo.Admin;

/// <summary>Mutual TLS for an <see cref="AdminClient"/>: the administrator certificate it presents (with its key, from
/// <c>memo admin certify</c>) and the check it runs on the node's certificate (issued by the network CA, a node
/// certificate).</summary>
/// <param name="Certificate">The administrator certificate with its private key.</param>
/// <param name="Validator">The check of the node's certificate.</param>
public sealed record AdminTls(X509Certificate2 Certificate, CertificateValidationCallback Validator);
