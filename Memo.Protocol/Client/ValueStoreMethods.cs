using Grpc.Core;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Client;

/// <summary>
/// Method descriptors of the <c>memo.vs.ValueStore</c> service, for <see cref="MemoClient.CallAsync{TRequest, TResponse}"/> or
/// any <see cref="CallInvoker"/>. They match the generated <see cref="Memo.Protocol.ValueStore.ValueStore"/> code on the wire; they exist so callers can
/// name one method as a value (the generated descriptors are private).
/// </summary>
public static class ValueStoreMethods
{
    /// <summary>The gRPC service name.</summary>
    public const string ServiceName = "memo.vs.ValueStore";

    /// <summary>Builds an immutable block without storing it.</summary>
    public static readonly Method<MakeImmutableBlockRequest, Block> MakeImmutableBlock = ProtobufMethods.Unary(ServiceName, "MakeImmutableBlock", MakeImmutableBlockRequest.Parser, Block.Parser);

    /// <summary>Builds a mutable block owned by the node without storing it.</summary>
    public static readonly Method<MakeMutableBlockRequest, Block> MakeMutableBlock = ProtobufMethods.Unary(ServiceName, "MakeMutableBlock", MakeMutableBlockRequest.Parser, Block.Parser);

    /// <summary>Builds a named block owned by the node without storing it.</summary>
    public static readonly Method<MakeNamedBlockRequest, Block> MakeNamedBlock = ProtobufMethods.Unary(ServiceName, "MakeNamedBlock", MakeNamedBlockRequest.Parser, Block.Parser);

    /// <summary>Computes a named block's address.</summary>
    public static readonly Method<NamedBlockAddressRequest, NamedBlockAddressResponse> NamedBlockAddress = ProtobufMethods.Unary(ServiceName, "NamedBlockAddress", NamedBlockAddressRequest.Parser, NamedBlockAddressResponse.Parser);

    /// <summary>ListVersions: the kept versions of a mutable block, newest first; NOT_FOUND when missing.</summary>
    public static readonly Method<ListBlockVersionsRequest, ListBlockVersionsResponse> ListVersions =
        ProtobufMethods.Unary(ServiceName, "ListVersions", ListBlockVersionsRequest.Parser, ListBlockVersionsResponse.Parser);

    /// <summary>Fetches a block (or, with <c>has_version</c>, a kept version of a mutable one): NOT_FOUND when missing.</summary>
    public static readonly Method<FetchRequest, FetchResponse> Fetch = ProtobufMethods.Unary(ServiceName, "Fetch", FetchRequest.Parser, FetchResponse.Parser);

    /// <summary>Stores a block of any kind.</summary>
    public static readonly Method<InsertRequest, InsertResponse> Insert = ProtobufMethods.Unary(ServiceName, "Insert", InsertRequest.Parser, InsertResponse.Parser);

    /// <summary>Builds and stores an immutable block.</summary>
    public static readonly Method<InsertImmutableBlockRequest, InsertImmutableBlockResponse> InsertImmutableBlock = ProtobufMethods.Unary(ServiceName, "InsertImmutableBlock", InsertImmutableBlockRequest.Parser, InsertImmutableBlockResponse.Parser);

    /// <summary>Builds and stores a mutable block owned by the node.</summary>
    public static readonly Method<InsertMutableBlockRequest, InsertMutableBlockResponse> InsertMutableBlock = ProtobufMethods.Unary(ServiceName, "InsertMutableBlock", InsertMutableBlockRequest.Parser, InsertMutableBlockResponse.Parser);

    /// <summary>Stores the next version of a mutable block; a lost version race returns the stored block in <c>current</c>.</summary>
    public static readonly Method<UpdateRequest, UpdateResponse> Update = ProtobufMethods.Unary(ServiceName, "Update", UpdateRequest.Parser, UpdateResponse.Parser);

    /// <summary>Removes a block.</summary>
    public static readonly Method<DeleteRequest, DeleteResponse> Delete = ProtobufMethods.Unary(ServiceName, "Delete", DeleteRequest.Parser, DeleteResponse.Parser);
}
