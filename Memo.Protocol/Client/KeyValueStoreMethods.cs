using Grpc.Core;
using Memo.Protocol.Kvs;

namespace Memo.Protocol.Client;

/// <summary>
/// Method descriptors of the <c>memo.kvs.KeyValueStore</c> service, for <see cref="MemoClient.CallAsync{TRequest, TResponse}"/> or
/// any <see cref="CallInvoker"/>. They match the generated <see cref="Memo.Protocol.Kvs.KeyValueStore"/> code on the wire; they exist so callers can
/// name one method as a value (the generated descriptors are private).
/// </summary>
public static class KeyValueStoreMethods
{
    /// <summary>The gRPC service name.</summary>
    public const string ServiceName = "memo.kvs.KeyValueStore";

    /// <summary>Insert: ALREADY_EXISTS when the key exists.</summary>
    public static readonly Method<InsertRequest, InsertResponse> Insert = ProtobufMethods.Unary(ServiceName, "Insert", InsertRequest.Parser, InsertResponse.Parser);

    /// <summary>Update: NOT_FOUND when the key is missing.</summary>
    public static readonly Method<UpdateRequest, UpdateResponse> Update = ProtobufMethods.Unary(ServiceName, "Update", UpdateRequest.Parser, UpdateResponse.Parser);

    /// <summary>Upsert: insert or overwrite.</summary>
    public static readonly Method<UpsertRequest, UpsertResponse> Upsert = ProtobufMethods.Unary(ServiceName, "Upsert", UpsertRequest.Parser, UpsertResponse.Parser);

    /// <summary>ListVersions: the kept versions of a key, newest first; NOT_FOUND when the key is missing.</summary>
    public static readonly Method<ListVersionsRequest, ListVersionsResponse> ListVersions =
        ProtobufMethods.Unary(ServiceName, "ListVersions", ListVersionsRequest.Parser, ListVersionsResponse.Parser);

    /// <summary>Fetch (of the current value or, with <c>version</c>, a kept older one): NOT_FOUND when the key, or that version, is missing.</summary>
    public static readonly Method<FetchRequest, FetchResponse> Fetch = ProtobufMethods.Unary(ServiceName, "Fetch", FetchRequest.Parser, FetchResponse.Parser);

    /// <summary>Delete: NOT_FOUND when the key is missing.</summary>
    public static readonly Method<DeleteRequest, DeleteResponse> Delete = ProtobufMethods.Unary(ServiceName, "Delete", DeleteRequest.Parser, DeleteResponse.Parser);

    /// <summary>List keys by prefix, after a marker, rolled up by a delimiter, at most maxKeys.</summary>
    public static readonly Method<ListRequest, ListResponse> List = ProtobufMethods.Unary(ServiceName, "List", ListRequest.Parser, ListResponse.Parser);
}
