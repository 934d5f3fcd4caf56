using Google.Protobuf;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Grpc;

namespace Memo.Node.Shards.Forwarding;

/// <summary>Method descriptors of the node-internal <c>memo.shard.ShardService</c> (forwarded proposals and reads, replica status).</summary>
public static class ShardServiceMethods
{
    /// <summary>The gRPC service name.</summary>
    public const string ServiceName = "memo.shard.ShardService";

    /// <summary>Propose a command to the shard's group on the answering node (which should lead it).</summary>
    public static readonly GrpcMethod<ProposeRequest, ProposeReply> Propose = Unary("Propose", ProposeRequest.Parser, ProposeReply.Parser);

    /// <summary>A linearizable read at the answering node (which should lead the shard), or a read of its local copy.</summary>
    public static readonly GrpcMethod<ReadRequest, ReadReply> Read = Unary("Read", ReadRequest.Parser, ReadReply.Parser);

    /// <summary>The answering node's local replicas: role, leader, applied index, configuration.</summary>
    public static readonly GrpcMethod<ReplicaStatusRequest, ReplicaStatusReply> Status = Unary("Status", ReplicaStatusRequest.Parser, ReplicaStatusReply.Parser);

    private static GrpcMethod<TRequest, TResponse> Unary<TRequest, TResponse>(string name, MessageParser<TRequest> request, MessageParser<TResponse> response)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        new(ServiceName, name, GrpcMethodKind.Unary, request, response);
}
