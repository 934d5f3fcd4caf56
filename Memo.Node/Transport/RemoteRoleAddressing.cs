using System.Threading.Channels;

namespace Memo.Node.Transport;

/// <summary>
/// Lets membership and Raft, which know each peer by its API address, send through a transport that reaches peers at
/// another endpoint the member advertises in one of its roles: its Akka remoting endpoint (<c>remote=host:port</c>,
/// <see cref="RoleOf"/>) for <see cref="AkkaPeerTransport"/>, or its TCP peer port (<c>peer=host:port</c>,
/// <see cref="PeerRoleOf"/>) for <see cref="TcpPeerTransport"/>; looked up in the current cluster view at each send.
/// </summary>
/// <remarks>The <c>remote=</c> role is derived from the member's Akka.Cluster address by <c>AkkaMemberMapping</c>, so it
/// is always the endpoint the member's cluster traffic uses; the <c>peer=</c> role is one the member's ActorSystem
/// announces itself (the port its TCP listener bound before the system started). A peer with no such role in the view
/// (not a member yet, gone, or on the other transport) cannot be reached; its messages are dropped and counted
/// (<see cref="Unaddressed"/>), as the transport drops any message it cannot deliver (Raft resends on its own ticks).</remarks>
/// <param name="inner">The transport that sends.</param>
/// <param name="rolesOf">The roles of a member in the current view, or null when it is not a member.</param>
/// <param name="rolePrefix">The prefix of the role that holds the address <paramref name="inner"/> needs:
/// <see cref="RemotePrefix"/> or <see cref="PeerPrefix"/>.</param>
public sealed class RemoteRoleAddressing(IPeerTransport inner, Func<NodeId, IEnumerable<string>?> rolesOf, string rolePrefix = RemoteRoleAddressing.RemotePrefix)
    : IPeerTransport
{
    /// <summary>The prefix of the role that holds a member's Akka remoting endpoint.</summary>
    public const string RemotePrefix = "remote=";

    /// <summary>The prefix of the role that holds a member's TCP peer transport endpoint.</summary>
    public const string PeerPrefix = "peer=";

    private long _unaddressed;

    /// <summary>The member role that advertises <paramref name="remoteAddress"/> (host:port).</summary>
    public static string RoleOf(string remoteAddress) => RemotePrefix + remoteAddress;

    /// <summary>The member role that advertises the TCP peer endpoint <paramref name="peerAddress"/> (host:port).</summary>
    public static string PeerRoleOf(string peerAddress) => PeerPrefix + peerAddress;

    /// <summary>The remoting address a member's roles advertise, or null.</summary>
    public static string? RemoteAddressIn(IEnumerable<string>? roles) => AddressIn(roles, RemotePrefix);

    /// <summary>The address after <paramref name="prefix"/> in the first of <paramref name="roles"/> that has it, or null.</summary>
    public static string? AddressIn(IEnumerable<string>? roles, string prefix) =>
        roles?.FirstOrDefault(r => r.StartsWith(prefix, StringComparison.Ordinal)) is { } role ? role[prefix.Length..] : null;

    /// <summary>The transport that sends.</summary>
    public IPeerTransport Inner => inner;

    /// <summary>Messages dropped because their peer advertised no address in the role.</summary>
    public long Unaddressed => Interlocked.Read(ref _unaddressed);

    /// <inheritdoc />
    public NodeId LocalNode => inner.LocalNode;

    /// <inheritdoc />
    public ChannelReader<InboundPeerMessage> Inbound => inner.Inbound;

    /// <inheritdoc />
    public bool Send(NodeId to, string address, PeerMessage message)
    {
        if (AddressIn(rolesOf(to), rolePrefix) is { } endpoint)
        {
            return inner.Send(to, endpoint, message);
        }
        Interlocked.Increment(ref _unaddressed);
        return false;
    }

    /// <inheritdoc />
    public IReadOnlyList<PeerLinkStats> GetLinkStats() => inner.GetLinkStats();

    /// <inheritdoc />
    public PeerLinkStats? GetLinkStats(NodeId peer) => inner.GetLinkStats(peer);

    /// <inheritdoc />
    public CancellationToken ConnectionLost(NodeId peer) => inner.ConnectionLost(peer);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
