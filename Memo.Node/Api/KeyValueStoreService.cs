using System.Buffers;
using Grpc.Core;
using Memo.Node.Configuration;
using System.Security.Cryptography;
using Memo.Node.Kvs;
using Memo.Node.Security;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Kvs;
using Store = Memo.Node.Kvs.KeyValueStore;

namespace Memo.Node.Api;

/// <summary>
/// The <c>memo.kvs.KeyValueStore</c> gRPC service: translates requests to <see cref="Store"/> calls
/// and outcomes to memo's status codes (missing key NOT_FOUND, existing key ALREADY_EXISTS, bad key
/// INVALID_ARGUMENT; on a network with an owner, a write the shard refuses PERMISSION_DENIED). Holds no state. An
/// authenticated caller (<see cref="PassportGate"/>) writes with its proof, which the key's shard checks again; on a
/// network with an owner (<paramref name="access"/>) listings leave out the network's reserved keys.
/// </summary>
public sealed class KeyValueStoreService(Store store, NetworkAccess? access = null) : Memo.Protocol.Kvs.KeyValueStore.KeyValueStoreBase
{
    /// <summary>
    /// The parsers of the write requests, which read a value above <paramref name="inlineValueBytes"/> straight into
    /// the room of its block's encoding (<see cref="KvWriteRequestParser"/>), for <see cref="Hosting.ApiServices.Add"/>.
    /// </summary>
    public static IReadOnlyDictionary<Type, Func<ReadOnlySequence<byte>, object>> RequestParsers(long inlineValueBytes) =>
        new Dictionary<Type, Func<ReadOnlySequence<byte>, object>>
        {
            [typeof(InsertRequest)] = KvWriteRequestParser.For(InsertRequest.Parser, (r, v) => r.Value = v, inlineValueBytes),
            [typeof(UpdateRequest)] = KvWriteRequestParser.For(UpdateRequest.Parser, (r, v) => r.Value = v, inlineValueBytes),
            [typeof(UpsertRequest)] = KvWriteRequestParser.For(UpsertRequest.Parser, (r, v) => r.Value = v, inlineValueBytes),
        };

    /// <inheritdoc />
    public override async Task<InsertResponse> Insert(InsertRequest request, ServerCallContext context)
    {
        Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Insert, WriterOf(context, request.Value.Span), WriteConsistencyOf(context), context.CancellationToken).ConfigureAwait(false));
        return new InsertResponse();
    }

    /// <inheritdoc />
    public override async Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context)
    {
        Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Update, WriterOf(context, request.Value.Span), WriteConsistencyOf(context), context.CancellationToken).ConfigureAwait(false));
        return new UpdateResponse();
    }

    /// <inheritdoc />
    public override async Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context)
    {
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.ApiIn);
        using var probe = new Diagnostics.ProbeAtEnd(Diagnostics.ProbeStage.ApiOut);
        Check(await store.WriteAsync(request.Key, request.Value.Memory, WriteMode.Upsert, WriterOf(context, request.Value.Span), WriteConsistencyOf(context), context.CancellationToken).ConfigureAwait(false));
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
        _ = WriteConsistencyOf(context); // a bad header is refused on every write; a delete waits for the commit at any level
        Check(await store.DeleteAsync(request.Key, DeleterOf(context), context.CancellationToken).ConfigureAwait(false));
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
            if (access is null || !key.StartsWith(NetworkAccess.ReservedPrefix, StringComparison.Ordinal))
            {
                response.Items.Add(new ListItem { Key = key });
            }
        }
        response.Prefixes.AddRange(access is null ? listing.Prefixes : listing.Prefixes.Where(p => !p.StartsWith(NetworkAccess.ReservedPrefix, StringComparison.Ordinal)));
        return response;
    }

    // The writer's proof for the key's shard: the caller's passport and call token as it sent them, and the digest of
    // the value its token signed.
    private static KvCaller? WriterOf(ServerCallContext context, ReadOnlySpan<byte> value) =>
        PassportGate.CallerOf(context) is { } caller
            ? new KvCaller(caller.Passport.User, new WriterProof
            {
                Passport = Google.Protobuf.ByteString.CopyFrom(caller.PassportBytes),
                CallToken = Google.Protobuf.ByteString.CopyFrom(caller.TokenBytes),
                ValueDigest = Google.Protobuf.ByteString.CopyFrom(SHA256.HashData(value)),
            })
            : null;

    private static KvCaller? DeleterOf(ServerCallContext context) =>
        PassportGate.CallerOf(context) is { } caller
            ? new KvCaller(caller.Passport.User, new WriterProof
            {
                Passport = Google.Protobuf.ByteString.CopyFrom(caller.PassportBytes),
                CallToken = Google.Protobuf.ByteString.CopyFrom(caller.TokenBytes),
            })
            : null;

    // The memo-read-consistency header of this call; null (the node's default) when absent.
    private static ReadConsistency? ConsistencyOf(ServerCallContext context)
    {
        if (HeaderOf(context, ReadConsistencyHeader.Name) is not { } value)
        {
            return null;
        }
        return ReadConsistencyHeader.Parse(value, out var problem)
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, problem!));
    }

    // The memo-write-consistency header of this call; null (the node's default) when absent.
    private static WriteConsistency? WriteConsistencyOf(ServerCallContext context)
    {
        if (HeaderOf(context, WriteConsistencyHeader.Name) is not { } value)
        {
            return null;
        }
        return WriteConsistencyHeader.Parse(value, out var problem)
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, problem!));
    }

    // One request header, read from the HTTP request: the first use of ServerCallContext.RequestHeaders copies every
    // header of the call into new metadata (each name lower-cased into a new string), a dozen objects per call for the
    // one header read here. The last value, as Metadata.GetValue answers when a header repeats.
    private static string? HeaderOf(ServerCallContext context, string name)
    {
        var values = context.GetHttpContext().Request.Headers[name];
        return values.Count == 0 ? null : values[^1];
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
            KvStatus.PermissionDenied => StatusCode.PermissionDenied,
            _ => StatusCode.Internal,
        };
        if (status != StatusCode.OK)
        {
            throw new RpcException(new Status(status, outcome.Message ?? status.ToString()));
        }
    }
}
