using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;
using Memo.Protocol.Security;

namespace Memo.Node.Security;

// Design note: what mutual TLS on Akka.Remote can and cannot tell the node.
//
// Akka.Remote (classic, DotNetty) runs the TLS handshake per TCP connection and hands the peer's certificate only to
// the validation callback, with the address it dialled (outbound) or the TCP endpoint that called (inbound); actors
// never see certificates. Passive connections are off in Akka.NET (akka.remote.use-passive-connections), so a node
// writes to every address over a connection it dialled itself, and the outbound callback sees which certificate
// answers at each Akka address. That is the anchor for binding NodeIds: the membership (MemberCertificateGuard) knows
// which NodeId each member address claims (role memo-id); this table records which certificate answered there, and
// the guard downs a member whose certificate contradicts its claim. An outbound handshake is refused only for a
// certificate the network CA did not issue: Akka.NET 1.5.75 (DotNetty TcpClientHandler) runs coordinated shutdown of
// the whole node when an outbound handshake fails, so refusing a member's handshake for a contradicted claim would let
// an impostor stop every node that dials it. Inbound connections are checked for the CA and the role only (node or
// admin): the callback cannot tell which Akka address an inbound connection will claim.

/// <summary>
/// The node's side of mutual TLS on Akka remoting: the certificate check every handshake runs
/// (<see cref="Validator"/>: issued by the network CA, a node or admin certificate), and what each dialled address
/// presented (<see cref="PresentedAt"/>), which the membership guard holds against the NodeId the member there claims
/// and the admin actor against the administrator role.
/// </summary>
/// <remarks>Thread safety: the validator runs on transport threads, the lookups on actors; every member is safe to call
/// from any thread.</remarks>
public sealed class PeerCertificates : IDisposable
{
    private readonly NetworkTrust _trust;
    private readonly ConcurrentDictionary<string, MemoCertificateIdentity> _presented = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates the table for a network whose CA is <paramref name="trust"/> (owned from now on).</summary>
    public PeerCertificates(NetworkTrust trust)
    {
        ArgumentNullException.ThrowIfNull(trust);
        _trust = trust;
    }

    /// <summary>Raised (on a transport thread) when a dialled address presented a certificate; the guard re-checks it.</summary>
    public event Action<string, MemoCertificateIdentity>? Presented;

    /// <summary>Raised (on a transport thread) when a handshake was refused: the peer, and why.</summary>
    public event Action<string, string>? Refused;

    /// <summary>The network CA.</summary>
    public NetworkTrust Trust => _trust;

    /// <summary>The identity of the certificate that answered when this node dialled <paramref name="hostPort"/>, if any.</summary>
    public MemoCertificateIdentity? PresentedAt(string hostPort) => _presented.TryGetValue(hostPort, out var identity) ? identity : null;

    /// <summary>The handshake check, for <c>DotNettySslSetup</c>'s custom validator (both directions).</summary>
    public CertificateValidationCallback Validator => Validate;

    /// <summary>
    /// Decides one handshake: <paramref name="peer"/> is the dialled Akka address (outbound) or the calling TCP
    /// endpoint (inbound). Pure apart from the table and the events; the system's opinion of the chain
    /// (<paramref name="errors"/>) is ignored because the network CA is not in the system's trust store.
    /// </summary>
    internal bool Validate(X509Certificate2? certificate, X509Chain? chain, string peer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        var identity = _trust.Check(certificate, out var problem);
        if (identity is null)
        {
            return Refuse(peer, problem!);
        }
        var outbound = TryHostPort(peer, out var hostPort);
        if (!outbound)
        {
            // Inbound: the CA's word and the role are all the handshake can check (see the design note).
            return true;
        }
        // A certificate that contradicts the member's claim is not refused here: Akka.NET 1.5.75 runs coordinated
        // shutdown of the whole node when an outbound handshake fails, so an impostor could stop every node that dials
        // it. The connection is allowed, recorded, and the guard downs the member at once (MemberCertificateGuard).
        _presented[hostPort] = identity;
        Presented?.Invoke(hostPort, identity);
        return true;
    }

    /// <summary>The host:port of a remote Akka address (IPv6 in brackets): the key <see cref="PresentedAt"/> takes.</summary>
    public static string HostPortOf(Akka.Actor.Address address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return Cluster.Runtime.AkkaHostPort.Of(address) ?? address.ToString();
    }

    /// <summary>The host:port of an Akka address (<c>akka.ssl.tcp://system@host:port</c>); false for a bare TCP
    /// endpoint (an inbound connection).</summary>
    internal static bool TryHostPort(string peer, out string hostPort)
    {
        hostPort = "";
        var at = peer.IndexOf('@', StringComparison.Ordinal);
        if (!peer.Contains("://", StringComparison.Ordinal) || at < 0)
        {
            return false;
        }
        var rest = peer[(at + 1)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        hostPort = slash >= 0 ? rest[..slash] : rest;
        return hostPort.Length > 0;
    }

    private bool Refuse(string peer, string reason)
    {
        Refused?.Invoke(peer, reason);
        return false;
    }

    /// <inheritdoc />
    public void Dispose() => _trust.Dispose();
}
