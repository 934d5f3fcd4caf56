using Memo.Node.Api.Grpc;
using Memo.Node.Kvs;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;

namespace Memo.Node.Api;

/// <summary>
/// The <c>memo.kvs.KeyValueStore</c> gRPC service: translates requests to <see cref="KeyValueStore"/> calls
/// and outcomes to memo's status codes (missing key NOT_FOUND, existing key ALREADY_EXISTS, bad key
/// INVALID_ARGUMENT). Holds no state.
/// </summary>
public sealed class KeyValueStoreService(Memo.Node.Kvs.KeyValueStore store)
{
    /// <summary>Registers the service's methods.</summary>
    public void Register(GrpcServiceRegistry registry)
    {
        registry.AddUnary(KeyValueStoreMethods.Insert, async (request, context) =>
        {
            Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Insert, context.CancellationToken).ConfigureAwait(false));
            return new InsertResponse();
        });
        registry.AddUnary(KeyValueStoreMethods.Update, async (request, context) =>
        {
            Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Update, context.CancellationToken).ConfigureAwait(false));
            return new UpdateResponse();
        });
        registry.AddUnary(KeyValueStoreMethods.Upsert, async (request, context) =>
        {
            Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Upsert, context.CancellationToken).ConfigureAwait(false));
            return new UpsertResponse();
        });
        registry.AddUnary(KeyValueStoreMethods.Fetch, async (request, context) =>
        {
            var result = await store.FetchAsync(request.Key, context.CancellationToken).ConfigureAwait(false);
            Check(new KvOutcome(result.Status, result.Message));
            return new FetchResponse { Value = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(result.Value) };
        });
        registry.AddUnary(KeyValueStoreMethods.Delete, async (request, context) =>
        {
            Check(await store.DeleteAsync(request.Key, context.CancellationToken).ConfigureAwait(false));
            return new DeleteResponse();
        });
        registry.AddUnary(KeyValueStoreMethods.List, async (request, context) =>
        {
            var listing = await store.ListAsync(request.Prefix, request.Marker, request.Delimiter, request.MaxKeys, context.CancellationToken).ConfigureAwait(false);
            Check(new KvOutcome(listing.Status, listing.Message));
            var response = new ListResponse { Truncated = listing.Truncated };
            foreach (var key in listing.Keys)
            {
                response.Items.Add(new ListItem { Key = key });
            }
            response.Prefixes.AddRange(listing.Prefixes);
            return response;
        });
    }

    private static void Check(KvOutcome outcome)
    {
        var status = outcome.Status switch
        {
            KvStatus.Ok => GrpcStatusCode.OK,
            KvStatus.NotFound => GrpcStatusCode.NotFound,
            KvStatus.AlreadyExists => GrpcStatusCode.AlreadyExists,
            KvStatus.InvalidArgument => GrpcStatusCode.InvalidArgument,
            _ => GrpcStatusCode.Internal,
        };
        if (status != GrpcStatusCode.OK)
        {
            throw new GrpcException(status, outcome.Message ?? status.ToString());
        }
    }
}
