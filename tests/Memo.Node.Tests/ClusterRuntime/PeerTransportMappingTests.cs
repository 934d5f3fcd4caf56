using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Configuration;
using Memo.Node.Transport;

namespace Memo.Node.Tests.ClusterRuntime;

/// <summary>
/// <c>memo.peer.transport</c> in the member mapping: a member on TCP announces its peer port (<c>peer=</c> role), one
/// on Akka remoting does not, and a member on the other transport than this node's is never placed (Raft could not
/// pass between them), with a reason that names the setting.
/// </summary>
public sealed class PeerTransportMappingTests
{
    private static readonly NetworkParameters Network = new("memo", 4, 3, TimeSpan.FromSeconds(30), new RaftTiming(TimeSpan.FromMilliseconds(100), 10, LeaseReads: true));

    private static MemberIdentity Identity(ulong node) => MemberIdentity.Of(new NodeId(node), $"127.0.0.1:{5000 + node}", [node * 1000], Network);

    private static IReadOnlyCollection<string> Roles(ulong node, bool tcp) =>
        [.. Identity(node).ToRoles(), .. tcp ? [RemoteRoleAddressing.PeerRoleOf($"127.0.0.1:{7000 + node}")] : Array.Empty<string>()];

    [Theory]
    [InlineData(PeerTransportKind.Tcp)]
    [InlineData(PeerTransportKind.Akka)]
    public void A_member_on_the_other_peer_transport_is_foreign_and_one_on_the_same_is_placed(PeerTransportKind transport)
    {
        var onTcp = transport == PeerTransportKind.Tcp;
        var mapped = AkkaMemberMapping.Map(Identity(1),
        [
            new ObservedMember("127.0.0.1:6001", MemberStatus.Up, 1, Roles(1, onTcp), Reachable: true, IsLeader: true),
            new ObservedMember("127.0.0.1:6002", MemberStatus.Up, 2, Roles(2, onTcp), Reachable: true, IsLeader: false),
            new ObservedMember("127.0.0.1:6003", MemberStatus.Up, 3, Roles(3, !onTcp), Reachable: true, IsLeader: false),
        ], new Dictionary<NodeId, Member>(), peerTransport: transport);

        Assert.Equal([new NodeId(1), new NodeId(2)], mapped.RingMembers.Select(m => m.Id));
        var (address, reason) = Assert.Single(mapped.Foreign);
        Assert.Equal("127.0.0.1:6003", address);
        var (theirs, mine) = onTcp ? ("akka", "tcp") : ("tcp", "akka");
        Assert.Equal($"node {new NodeId(3)} runs memo.peer.transport = {theirs} and this node {mine}: Raft cannot pass between them "
            + "(every member of a network must set the same memo.peer.transport)", reason);
    }

    [Fact]
    public void Without_a_transport_to_check_every_member_of_the_network_is_placed()
    {
        var mapped = AkkaMemberMapping.Map(Identity(1),
        [
            new ObservedMember("127.0.0.1:6001", MemberStatus.Up, 1, Roles(1, tcp: true), Reachable: true, IsLeader: true),
            new ObservedMember("127.0.0.1:6002", MemberStatus.Up, 2, Roles(2, tcp: false), Reachable: true, IsLeader: false),
        ], new Dictionary<NodeId, Member>());

        Assert.Equal(2, mapped.RingMembers.Length);
        Assert.Empty(mapped.Foreign);
    }
}
