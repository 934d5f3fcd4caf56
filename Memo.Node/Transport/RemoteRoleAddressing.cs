using System.Threading.Channels;

namespace Memo.Node.Transport;

/// <summary>
/// Lets membership and Raft, which know each peer by its API address, send through a transport that reaches peers at
/// their Akka remoting endpoint: every message goes to the address the peer advertised in its member role
/// <c>remote=host:port</c> (<see cref="RoleOf"/>), looked up in the current cluster view at each send.
/// </summary>
/// <remarks>The role is derived from the member's Akka.Cluster address by <c>AkkaMemberMapping</c>, so it is always the
/// endpoint the member's cluster traffic uses. A peer with no record in the view (not a member yet, or gone) cannot
/// be reached; its messages are dropped and counted (<see cref="Unaddressed"/>), as the transport drops any message it
/// cannot deliver (Raft resends on its own ticks).</remarks>
public sealed class RemoteRoleAddressing(IPeerTransport inner, Func<NodeId, IEnumerable<string>?> rolesOf) : IPeerTransport
{
    private const string Prefix = "remote=";
    private long _unaddressed;

    /// <summary>The member role that advertises <paramref name="remoteAddress"/> (host:port).</summary>
    public static string RoleOf(string remoteAddress) => Prefix + remoteAddress;

    /// <summary>The remoting address a member's roles advertise, or null.</summary>
    public static string? RemoteAddressIn(IEnumerable<string>? roles) =>
        roles?.FirstOrDefault(r => r.StartsWith(Prefix, StringComparison.Ordinal)) is { } role ? role[Prefix.Length..] : null;

    /// <summary>Messages dropped because their peer advertised no remoting address.</summary>
    public long Unaddressed => Interlocked.Read(ref _unaddressed);

    /// <inheritdoc />
    public NodeId LocalNode => inner.LocalNode;

    /// <inheritdoc />
    public ChannelReader<InboundPeerMessage> Inbound => inner.Inbound;

    /// <inheritdoc />
    public bool Send(NodeId to, string address, PeerMessage message)
    {
        if (RemoteAddressIn(rolesOf(to)) is { } remote)
        {
            return inner.Send(to, remote, message);
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
