using Google.Protobuf;
using Memo.Protocol.Cluster;
using Memo.Protocol.Grpc;

namespace Memo.Protocol.Client;

/// <summary>Method descriptors of the <c>memo.cluster.ClusterAdmin</c> service, shared by the node and clients.</summary>
public static class ClusterAdminMethods
{
    /// <summary>The gRPC service name.</summary>
    public const string ServiceName = "memo.cluster.ClusterAdmin";

    /// <summary>The membership as the answering node sees it.</summary>
    public static readonly GrpcMethod<ShowRequest, ShowResponse> Show = Unary("Show", ShowRequest.Parser, ShowResponse.Parser);

    /// <summary>Every shard's replica set.</summary>
    public static readonly GrpcMethod<ShardsRequest, ShardsResponse> Shards = Unary("Shards", ShardsRequest.Parser, ShardsResponse.Parser);

    /// <summary>Join a cluster through a seed: FAILED_PRECONDITION when the node is already in a multi-member cluster.</summary>
    public static readonly GrpcMethod<JoinRequest, JoinResponse> Join = Unary("Join", JoinRequest.Parser, JoinResponse.Parser);

    /// <summary>Leave (a member, default the answering node): NOT_FOUND for an unknown member, FAILED_PRECONDITION when not allowed.</summary>
    public static readonly GrpcMethod<LeaveRequest, LeaveResponse> Leave = Unary("Leave", LeaveRequest.Parser, LeaveResponse.Parser);

    /// <summary>Down a member: NOT_FOUND for an unknown member, FAILED_PRECONDITION when not allowed.</summary>
    public static readonly GrpcMethod<DownRequest, DownResponse> Down = Unary("Down", DownRequest.Parser, DownResponse.Parser);

    /// <summary>Node to node: admit a joining node.</summary>
    public static readonly GrpcMethod<AdmitMemberRequest, AdmitMemberResponse> AdmitMember =
        Unary("AdmitMember", AdmitMemberRequest.Parser, AdmitMemberResponse.Parser);

    private static GrpcMethod<TRequest, TResponse> Unary<TRequest, TResponse>(string name, MessageParser<TRequest> request, MessageParser<TResponse> response)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        new(ServiceName, name, GrpcMethodKind.Unary, request, response);
}
