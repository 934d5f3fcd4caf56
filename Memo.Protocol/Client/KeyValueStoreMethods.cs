using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;

namespace Memo.Protocol.Client;

/// <summary>Method descriptors of the <c>memo.kvs.KeyValueStore</c> service, shared by the node (server) and clients.</summary>
public static class KeyValueStoreMethods
{
    /// <summary>The gRPC service name.</summary>
    public const string ServiceName = "memo.kvs.KeyValueStore";

    /// <summary>Insert: ALREADY_EXISTS when the key exists.</summary>
    public static readonly GrpcMethod<InsertRequest, InsertResponse> Insert = Unary("Insert", InsertRequest.Parser, InsertResponse.Parser);

    /// <summary>Update: NOT_FOUND when the key is missing.</summary>
    public static readonly GrpcMethod<UpdateRequest, UpdateResponse> Update = Unary("Update", UpdateRequest.Parser, UpdateResponse.Parser);

    /// <summary>Upsert: insert or overwrite.</summary>
    public static readonly GrpcMethod<UpsertRequest, UpsertResponse> Upsert = Unary("Upsert", UpsertRequest.Parser, UpsertResponse.Parser);

    /// <summary>Fetch: NOT_FOUND when the key is missing.</summary>
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Fetch = Unary("Fetch", FetchRequest.Parser, FetchResponse.Parser);

    /// <summary>Delete: NOT_FOUND when the key is missing.</summary>
    public static readonly GrpcMethod<DeleteRequest, DeleteResponse> Delete = Unary("Delete", DeleteRequest.Parser, DeleteResponse.Parser);

    /// <summary>List keys by prefix, after a marker, rolled up by a delimiter, at most maxKeys.</summary>
    public static readonly GrpcMethod<ListRequest, ListResponse> List = Unary("List", ListRequest.Parser, ListResponse.Parser);

    private static GrpcMethod<TRequest, TResponse> Unary<TRequest, TResponse>(string name, Google.Protobuf.MessageParser<TRequest> request, Google.Protobuf.MessageParser<TResponse> response)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>
        where TResponse : class, Google.Protobuf.IMessage<TResponse> =>
        new(ServiceName, name, GrpcMethodKind.Unary, request, response);
}
