using Akka.Actor;
using Memo.Node.Configuration;

namespace Memo.Node.Cluster.Runtime;

/// <summary>The <c>host:port</c> of an Akka address, the one form members, presented certificates and peer links are
/// keyed by (an IPv6 host in brackets, as <see cref="NodeOptions.FormatHostPort"/> writes it).</summary>
internal static class AkkaHostPort
{
    /// <summary><c>host:port</c> of a remote address; null for a local one (no host or port: no remoting).</summary>
    public static string? Of(Address address) =>
        address.Host is { Length: > 0 } host && address.Port is { } port
            ? NodeOptions.FormatHostPort(host.StartsWith('[') ? host[1..^1] : host, port)
            : null;
}
