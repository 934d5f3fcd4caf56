using Grpc.Core;
using Memo.Protocol.Cluster;

namespace Memo.Protocol.Client;

/// <summary>
/// Method descriptors of the <c>memo.cluster.ClusterAdmin</c> service, for <see cref="MemoClient.CallAsync{TRequest, TResponse}"/> or
/// any <see cref="CallInvoker"/>. They match the generated <see cref="Memo.Protocol.Cluster.ClusterAdmin"/> code on the wire; they exist so callers can
/// name one method as a value (the generated descriptors are private).
/// </summary>
public static class ClusterAdminMethods
{
    /// <summary>The gRPC service name.</summary>
    public const string ServiceName = "memo.cluster.ClusterAdmin";

    /// <summary>The membership as the answering node sees it.</summary>
    public static readonly Method<ShowRequest, ShowResponse> Show = ProtobufMethods.Unary(ServiceName, "Show", ShowRequest.Parser, ShowResponse.Parser);

    /// <summary>Every shard's replica set.</summary>
    public static readonly Method<ShardsRequest, ShardsResponse> Shards = ProtobufMethods.Unary(ServiceName, "Shards", ShardsRequest.Parser, ShardsResponse.Parser);

    /// <summary>Join a cluster through a seed: FAILED_PRECONDITION when the node is already in a multi-member cluster.</summary>
    public static readonly Method<JoinRequest, JoinResponse> Join = ProtobufMethods.Unary(ServiceName, "Join", JoinRequest.Parser, JoinResponse.Parser);

    /// <summary>Leave (a member, default the answering node): NOT_FOUND for an unknown member, FAILED_PRECONDITION when not allowed.</summary>
    public static readonly Method<LeaveRequest, LeaveResponse> Leave = ProtobufMethods.Unary(ServiceName, "Leave", LeaveRequest.Parser, LeaveResponse.Parser);

    /// <summary>Down a member: NOT_FOUND for an unknown member, FAILED_PRECONDITION when not allowed.</summary>
    public static readonly Method<DownRequest, DownResponse> Down = ProtobufMethods.Unary(ServiceName, "Down", DownRequest.Parser, DownResponse.Parser);
}
