using Akka.Actor;
using Akka.Configuration;
using Memo.Admin;
using Memo.Admin.Wire;
using Memo.Node.Admin;
using Memo.Node.Cluster.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Admin;

/// <summary>
/// The admin actor in a TestKit system whose membership never started: the node is not a member, so reads answer its
/// standing and changes answer UNAVAILABLE, as the gRPC admin service did. Bad requests are INVALID_ARGUMENT and leave
/// the actor answering. (Answers from a live cluster: <c>AdminRemotingTests</c>, <c>ClusterCliTests</c>.)
/// </summary>
public sealed class AdminActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static readonly Config SystemConfig = ConfigurationFactory.ParseString("""
        akka {
          loglevel = WARNING
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
        }
        """).WithFallback(AdminWire.SerializerConfig);

    private readonly ClusterMembership _cluster;

    public AdminActorTests(ITestOutputHelper output)
        : base(SystemConfig, "memo", output)
    {
        var network = new NetworkParameters("memo", 4, 3, TimeSpan.FromSeconds(30), new RaftTiming(TimeSpan.FromMilliseconds(100), 10, true));
        var identity = MemberIdentity.Of(new NodeId(0xabc), "127.0.0.1:5090", [1UL, 1UL << 62], network);
        _cluster = new ClusterMembership(Sys, identity, "127.0.0.1:5091", network, [], [], TimeSpan.FromSeconds(1), store: null, NullLoggerFactory.Instance);
    }

    private IActorRef Admin(long maxReplyBytes = 1 << 20) =>
        Sys.ActorOf(AdminActor.Props(_cluster, leaderOf: null, maxReplyBytes, NullLogger.Instance));

    private AdminReply Ask(IActorRef admin, AdminRequest request)
    {
        admin.Tell(request, TestActor);
        var reply = ExpectMsg<AdminReply>(Wait, $"the admin actor's reply to {request.RequestCase} #{request.CorrelationId}");
        Assert.Equal(request.CorrelationId, reply.CorrelationId);
        return reply;
    }

    [Fact]
    public void Show_answers_the_nodes_standing_before_it_is_a_member()
    {
        var reply = Ask(Admin(), new AdminRequest { CorrelationId = 41, Show = new ShowRequest() });

        Assert.Equal(AdminReply.ReplyOneofCase.Show, reply.ReplyCase);
        Assert.Equal(new NodeId(0xabc).ToString(), reply.Show.SelfId);
        Assert.Equal("127.0.0.1:5090", reply.Show.SelfAddress);
        Assert.Equal("memo", reply.Show.NetworkName);
        Assert.Equal(4, reply.Show.ShardCount);
        Assert.False(reply.Show.Serving);
        Assert.Contains("not a member yet", reply.Show.Problem, StringComparison.Ordinal);
        Assert.Empty(reply.Show.Members);
    }

    [Fact]
    public void Shards_answers_every_shard_unplaced_and_under_replicated_before_the_node_is_a_member()
    {
        var reply = Ask(Admin(), new AdminRequest { CorrelationId = 42, Shards = new ShardsRequest() });

        Assert.Equal(AdminReply.ReplyOneofCase.Shards, reply.ReplyCase);
        Assert.Equal(4, reply.Shards.ShardCount);
        Assert.Equal(Enumerable.Range(0, 4), reply.Shards.Shards.Select(s => s.Shard));
        Assert.All(reply.Shards.Shards, s => Assert.True(s.UnderReplicated && s.Replicas.Count == 0 && s.LeaderId.Length == 0));
    }

    [Theory]
    [InlineData("leave")]
    [InlineData("down")]
    public void A_change_asked_of_a_node_that_is_not_a_member_is_UNAVAILABLE(string change)
    {
        var request = change == "leave"
            ? new AdminRequest { CorrelationId = 43, Leave = new LeaveRequest() }
            : new AdminRequest { CorrelationId = 43, Down = new DownRequest { Node = "0000000000000001" } };

        var reply = Ask(Admin(), request);

        Assert.Equal(AdminReply.ReplyOneofCase.Error, reply.ReplyCase);
        Assert.Equal(AdminErrorCode.Unavailable, reply.Error.Code);
        Assert.Contains("not a live member", reply.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_requests_are_INVALID_ARGUMENT_and_the_actor_keeps_answering()
    {
        var admin = Admin();

        var empty = Ask(admin, new AdminRequest { CorrelationId = 1 });
        var downNobody = Ask(admin, new AdminRequest { CorrelationId = 2, Down = new DownRequest { Node = " " } });
        var joinNowhere = Ask(admin, new AdminRequest { CorrelationId = 3, Join = new JoinRequest { Seed = "not an address" } });

        Assert.Equal(AdminErrorCode.InvalidArgument, empty.Error.Code);
        Assert.Equal(AdminErrorCode.InvalidArgument, downNobody.Error.Code);
        Assert.Equal(AdminErrorCode.InvalidArgument, joinNowhere.Error.Code);
        Assert.Contains("'not an address' is not a host:port address", joinNowhere.Error.Message, StringComparison.Ordinal);
        Assert.Equal(AdminReply.ReplyOneofCase.Show, Ask(admin, new AdminRequest { CorrelationId = 4, Show = new ShowRequest() }).ReplyCase);
    }

    [Fact]
    public void An_answer_larger_than_a_remoting_frame_becomes_an_INTERNAL_error_naming_the_frame_size_key()
    {
        var reply = Ask(Admin(maxReplyBytes: 16), new AdminRequest { CorrelationId = 44, Shards = new ShardsRequest() });

        Assert.Equal(AdminErrorCode.Internal, reply.Error.Code);
        Assert.Contains("akka.remote.dot-netty.tcp.maximum-frame-size", reply.Error.Message, StringComparison.Ordinal);
    }
}
