using Grpc.Core;
using Memo.Node.Configuration;
using Memo.Node.Kvs;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Kvs;
using Store = Memo.Node.Kvs.KeyValueStore;

namespace Memo.Node.Api;

/// <summary>
/// The <c>memo.kvs.KeyValueStore</c> gRPC service: translates requests to <see cref="Store"/> calls
/// and outcomes to memo's status codes (missing key NOT_FOUND, existing key ALREADY_EXISTS, bad key
/// INVALID_ARGUMENT). Holds no state.
/// </summary>
public sealed class KeyValueStoreService(Store store) : Memo.Protocol.Kvs.KeyValueStore.KeyValueStoreBase
{
    /// <inheritdoc />
    public override async Task<InsertResponse> Insert(InsertRequest request, ServerCallContext context)
    {
        Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Insert, context.CancellationToken).ConfigureAwait(false));
        return new InsertResponse();
    }

    /// <inheritdoc />
    public override async Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context)
    {
        Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Update, context.CancellationToken).ConfigureAwait(false));
        return new UpdateResponse();
    }

    /// <inheritdoc />
    public override async Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context)
    {
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.ApiIn);
        using var probe = new Diagnostics.ProbeAtEnd(Diagnostics.ProbeStage.ApiOut);
        Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Upsert, context.CancellationToken).ConfigureAwait(false));
        return new UpsertResponse();
    }

    /// <inheritdoc />
    public override async Task<FetchResponse> Fetch(FetchRequest request, ServerCallContext context)
    {
        var result = await store.FetchAsync(request.Key, request.Version, ConsistencyOf(context), context.CancellationToken).ConfigureAwait(false);
        Check(new KvOutcome(result.Status, result.Message));
        return new FetchResponse { Value = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(result.Value), Version = result.Version };
    }

    /// <inheritdoc />
    public override async Task<ListVersionsResponse> ListVersions(ListVersionsRequest request, ServerCallContext context)
    {
        var result = await store.ListVersionsAsync(request.Key, ConsistencyOf(context), context.CancellationToken).ConfigureAwait(false);
        Check(new KvOutcome(result.Status, result.Message));
        var response = new ListVersionsResponse();
        foreach (var version in result.Versions)
        {
            response.Versions.Add(new KeyVersion { Version = version });
        }
        return response;
    }

    /// <inheritdoc />
    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        Check(await store.DeleteAsync(request.Key, context.CancellationToken).ConfigureAwait(false));
        return new DeleteResponse();
    }

    /// <inheritdoc />
    public override async Task<ListResponse> List(ListRequest request, ServerCallContext context)
    {
        var listing = await store.ListAsync(request.Prefix, request.Marker, request.Delimiter, request.MaxKeys, context.CancellationToken).ConfigureAwait(false);
        Check(new KvOutcome(listing.Status, listing.Message));
        var response = new ListResponse { Truncated = listing.Truncated, NextMarker = listing.NextMarker ?? "" };
        foreach (var key in listing.Keys)
        {
            response.Items.Add(new ListItem { Key = key });
        }
        response.Prefixes.AddRange(listing.Prefixes);
        return response;
    }

    // The memo-read-consistency header of this call; null (the node's default) when absent.
    private static ReadConsistency? ConsistencyOf(ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue(ReadConsistencyHeader.Name) is not { } value)
        {
            return null;
        }
        return ReadConsistencyHeader.Parse(value, out var problem)
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, problem!));
    }

    private static void Check(KvOutcome outcome)
    {
        var status = outcome.Status switch
        {
            KvStatus.Ok => StatusCode.OK,
            KvStatus.NotFound => StatusCode.NotFound,
            KvStatus.AlreadyExists => StatusCode.AlreadyExists,
            KvStatus.InvalidArgument => StatusCode.InvalidArgument,
            KvStatus.FailedPrecondition => StatusCode.FailedPrecondition,
            _ => StatusCode.Internal,
        };
        if (status != StatusCode.OK)
        {
            throw new RpcException(new Status(status, outcome.Message ?? status.ToString()));
        }
    }
}
