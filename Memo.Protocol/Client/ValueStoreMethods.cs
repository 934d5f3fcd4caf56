using Google.Protobuf;
using Memo.Protocol.Grpc;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Client;

/// <summary>Method descriptors of the <c>memo.vs.ValueStore</c> service, shared by the node (server) and clients.</summary>
public static class ValueStoreMethods
{
    /// <summary>The gRPC service name.</summary>
    public const string ServiceName = "memo.vs.ValueStore";

    /// <summary>Builds an immutable block without storing it.</summary>
    public static readonly GrpcMethod<MakeImmutableBlockRequest, Block> MakeImmutableBlock = Unary("MakeImmutableBlock", MakeImmutableBlockRequest.Parser, Block.Parser);

    /// <summary>Builds a mutable block owned by the node without storing it.</summary>
    public static readonly GrpcMethod<MakeMutableBlockRequest, Block> MakeMutableBlock = Unary("MakeMutableBlock", MakeMutableBlockRequest.Parser, Block.Parser);

    /// <summary>Builds a named block owned by the node without storing it.</summary>
    public static readonly GrpcMethod<MakeNamedBlockRequest, Block> MakeNamedBlock = Unary("MakeNamedBlock", MakeNamedBlockRequest.Parser, Block.Parser);

    /// <summary>Computes a named block's address.</summary>
    public static readonly GrpcMethod<NamedBlockAddressRequest, NamedBlockAddressResponse> NamedBlockAddress = Unary("NamedBlockAddress", NamedBlockAddressRequest.Parser, NamedBlockAddressResponse.Parser);

    /// <summary>Fetches a block: NOT_FOUND when missing.</summary>
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Fetch = Unary("Fetch", FetchRequest.Parser, FetchResponse.Parser);

    /// <summary>Stores a block of any kind.</summary>
    public static readonly GrpcMethod<InsertRequest, InsertResponse> Insert = Unary("Insert", InsertRequest.Parser, InsertResponse.Parser);

    /// <summary>Builds and stores an immutable block.</summary>
    public static readonly GrpcMethod<InsertImmutableBlockRequest, InsertImmutableBlockResponse> InsertImmutableBlock = Unary("InsertImmutableBlock", InsertImmutableBlockRequest.Parser, InsertImmutableBlockResponse.Parser);

    /// <summary>Builds and stores a mutable block owned by the node.</summary>
    public static readonly GrpcMethod<InsertMutableBlockRequest, InsertMutableBlockResponse> InsertMutableBlock = Unary("InsertMutableBlock", InsertMutableBlockRequest.Parser, InsertMutableBlockResponse.Parser);

    /// <summary>Stores the next version of a mutable block; a lost version race returns the stored block in <c>current</c>.</summary>
    public static readonly GrpcMethod<UpdateRequest, UpdateResponse> Update = Unary("Update", UpdateRequest.Parser, UpdateResponse.Parser);

    /// <summary>Removes a block.</summary>
    public static readonly GrpcMethod<DeleteRequest, DeleteResponse> Delete = Unary("Delete", DeleteRequest.Parser, DeleteResponse.Parser);

    private static GrpcMethod<TRequest, TResponse> Unary<TRequest, TResponse>(string name, MessageParser<TRequest> request, MessageParser<TResponse> response)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        new(ServiceName, name, GrpcMethodKind.Unary, request, response);
}
