using System.Threading.Channels;
using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

public sealed class RemoteRoleAddressingTests
{
    [Fact]
    public void A_message_goes_to_the_remoting_address_in_the_peers_role_not_its_API_address()
    {
        var inner = new RecordingTransport();
        var roles = new Dictionary<NodeId, string[]> { [new NodeId(2)] = ["dc=a", RemoteRoleAddressing.RoleOf("10.0.0.2:5091")] };
        var addressing = new RemoteRoleAddressing(inner, peer => roles.GetValueOrDefault(peer));

        Assert.True(addressing.Send(new NodeId(2), "10.0.0.2:5090", PeerMessage.Forwarding(new byte[] { 1 })));

        var sent = Assert.Single(inner.Sent);
        Assert.Equal((new NodeId(2), "10.0.0.2:5091"), (sent.To, sent.Address));
        Assert.Equal(0, addressing.Unaddressed);
    }

    [Fact]
    public void A_peer_without_a_remoting_role_is_dropped_counted_and_reported_as_not_sent()
    {
        var inner = new RecordingTransport();
        var addressing = new RemoteRoleAddressing(inner, peer => peer == new NodeId(3) ? ["dc=b"] : null);

        Assert.False(addressing.Send(new NodeId(2), "10.0.0.2:5090", PeerMessage.Forwarding(new byte[] { 1 })));
        Assert.False(addressing.Send(new NodeId(3), "10.0.0.3:5090", PeerMessage.Forwarding(new byte[] { 1 })));

        Assert.Empty(inner.Sent);
        Assert.Equal(2, addressing.Unaddressed);
    }

    [Fact]
    public void With_the_peer_role_a_message_goes_to_the_TCP_peer_endpoint_and_a_member_without_one_is_not_sent_to()
    {
        var inner = new RecordingTransport();
        var roles = new Dictionary<NodeId, string[]>
        {
            [new NodeId(2)] = [RemoteRoleAddressing.RoleOf("10.0.0.2:5091"), RemoteRoleAddressing.PeerRoleOf("10.0.0.2:41000")],
            // A member on Akka.Remote alone (no TCP listener) advertises no peer endpoint.
            [new NodeId(3)] = [RemoteRoleAddressing.RoleOf("10.0.0.3:5091")],
        };
        var addressing = new RemoteRoleAddressing(inner, peer => roles.GetValueOrDefault(peer), RemoteRoleAddressing.PeerPrefix);

        Assert.True(addressing.Send(new NodeId(2), "10.0.0.2:5090", PeerMessage.Forwarding(new byte[] { 1 })));
        Assert.False(addressing.Send(new NodeId(3), "10.0.0.3:5090", PeerMessage.Forwarding(new byte[] { 1 })));

        Assert.Equal([(new NodeId(2), "10.0.0.2:41000")], inner.Sent);
        Assert.Equal(1, addressing.Unaddressed);
    }

    [Theory]
    [InlineData(new[] { "remote=h:1" }, "h:1")]
    [InlineData(new[] { "a", "remote=[::1]:7" }, "[::1]:7")]
    [InlineData(new[] { "remotely=h:1" }, null)]
    [InlineData(new string[0], null)]
    public void The_remoting_address_is_read_from_the_role_prefix(string[] roles, string? expected) =>
        Assert.Equal(expected, RemoteRoleAddressing.RemoteAddressIn(roles));

    private sealed class RecordingTransport : IPeerTransport
    {
        private readonly Channel<InboundPeerMessage> _inbound = Channel.CreateUnbounded<InboundPeerMessage>();

        public List<(NodeId To, string Address)> Sent { get; } = [];

        public NodeId LocalNode => new(1);

        public ChannelReader<InboundPeerMessage> Inbound => _inbound.Reader;

        public bool Send(NodeId to, string address, PeerMessage message)
        {
            Sent.Add((to, address));
            return true;
        }

        public IReadOnlyList<PeerLinkStats> GetLinkStats() => [];

        public PeerLinkStats? GetLinkStats(NodeId peer) => null;

        public CancellationToken ConnectionLost(NodeId peer) => CancellationToken.None;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
