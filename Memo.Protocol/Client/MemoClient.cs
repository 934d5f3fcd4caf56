using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Memo.Protocol.Blocks;
using Memo.Protocol.Kvs;
using Memo.Protocol.Users;
using Memo.Protocol.ValueStore;
using GrpcException = Memo.Protocol.Grpc.GrpcException;
using GrpcStatusCode = Memo.Protocol.Grpc.GrpcStatusCode;
using KvsDeleteRequest = Memo.Protocol.Kvs.DeleteRequest;
using KvsFetchRequest = Memo.Protocol.Kvs.FetchRequest;
using KvsInsertRequest = Memo.Protocol.Kvs.InsertRequest;
using KvsUpdateRequest = Memo.Protocol.Kvs.UpdateRequest;
using VsDeleteRequest = Memo.Protocol.ValueStore.DeleteRequest;
using VsFetchRequest = Memo.Protocol.ValueStore.FetchRequest;
using VsFetchResponse = Memo.Protocol.ValueStore.FetchResponse;
using VsInsertRequest = Memo.Protocol.ValueStore.InsertRequest;
using VsUpdateRequest = Memo.Protocol.ValueStore.UpdateRequest;

namespace Memo.Protocol.Client;

/// <summary>
/// The .NET client of a Memo node: the key-value store (<c>memo.kvs</c>) and the value store (<c>memo.vs</c>), over
/// <c>Grpc.Net.Client</c>. Thread-safe; one instance holds one <see cref="GrpcChannel"/> and multiplexes all calls
/// over HTTP/2. Create one per node and share it.
/// </summary>
/// <remarks>
/// <para>Expected outcomes are return values: a missing key is <c>null</c> or <c>false</c>, a lost version race is
/// <see cref="BlockUpdateResult.Conflict"/>. Everything else (node unreachable, bad input, timeouts, cancellation)
/// throws <see cref="GrpcException"/> with the gRPC status; the <see cref="RpcException"/> it came from is the
/// inner exception. Blocks fetched from the value store are verified against the address asked for; a forged or
/// corrupted block throws <see cref="GrpcException"/> with <see cref="GrpcStatusCode.DataLoss"/>.</para>
/// <para>The client's timeout becomes each call's gRPC deadline (sent to the node as <c>grpc-timeout</c>, enforced
/// locally too); an expired one throws DeadlineExceeded, a cancelled token Cancelled. Values passed in are copied
/// when the call starts, so the caller's buffer may be reused as soon as the method returns its task.</para>
/// </remarks>
public sealed partial class MemoClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;
    private readonly UnaryCaller _calls;
    private readonly UserCredentials? _credentials;

    /// <summary>Connects to a node at <c>host:port</c> (or <c>http://host:port</c>, or <c>https://host:port</c> for TLS).</summary>
    /// <exception cref="ArgumentException">The target or the channel options are invalid.</exception>
    public MemoClient(string target, MemoClientOptions? options = null)
        : this(MemoChannel.Create(target, options?.EffectiveChannel), ownsChannel: true, options?.Timeout, options?.Credentials)
    {
    }

    /// <summary>Uses an existing channel, which the caller keeps owning; with <paramref name="credentials"/> every call is
    /// signed as that user (<see cref="MemoClientOptions.Credentials"/>).</summary>
    public MemoClient(GrpcChannel channel, TimeSpan? timeout = null, UserCredentials? credentials = null)
        : this(channel, ownsChannel: false, timeout, credentials)
    {
    }

    private MemoClient(GrpcChannel channel, bool ownsChannel, TimeSpan? timeout, UserCredentials? credentials)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel;
        _ownsChannel = ownsChannel;
        _credentials = credentials;
        var invoker = channel.CreateCallInvoker();
        _calls = new UnaryCaller(credentials is null ? invoker : invoker.Intercept(new SigningInterceptor(credentials)), timeout);
    }

    /// <summary>The user this client acts as; null for an anonymous client.</summary>
    public UserCredentials? Credentials => _credentials;

    /// <summary>The underlying channel, for calling other services on the same node (e.g. with a generated client).</summary>
    public GrpcChannel Channel => _channel;

    // ---- key-value store ----

    /// <summary>Inserts a new key; returns false when the key already exists.</summary>
    public async Task<bool> InsertAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        try
        {
            await _calls.StartAsync(KeyValueStoreMethods.Insert, new KvsInsertRequest { Key = key, Value = ByteString.CopyFrom(value.Span) }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            return false;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>Replaces the value of an existing key; returns false when the key is missing.</summary>
    public async Task<bool> UpdateAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        try
        {
            await _calls.StartAsync(KeyValueStoreMethods.Update, new KvsUpdateRequest { Key = key, Value = ByteString.CopyFrom(value.Span) }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>Inserts or replaces a key's value.</summary>
    public Task UpsertAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default) =>
        _calls.CallAsync(KeyValueStoreMethods.Upsert, new UpsertRequest { Key = key, Value = ByteString.CopyFrom(value.Span) }, cancellationToken);

    /// <summary>Inserts or replaces a key's value, acknowledged at <paramref name="consistency"/> (null: the node's
    /// default, <c>memo.kvs.write-consistency</c>). <see cref="WriteConsistencyLevel.Async"/> returns once the key shard's
    /// leader holds the value durably, before a majority does: a leader that dies before replicating it loses it.</summary>
    public async Task UpsertAsync(string key, ReadOnlyMemory<byte> value, WriteConsistencyLevel? consistency, CancellationToken cancellationToken = default)
    {
        if (consistency is not { } level)
        {
            await UpsertAsync(key, value, cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            await _calls.StartAsync(KeyValueStoreMethods.Upsert, new UpsertRequest { Key = key, Value = ByteString.CopyFrom(value.Span) },
                new Metadata { { WriteConsistencyLevels.HeaderName, level.HeaderValue() } }, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>The value of a key, or null when the key is missing; read as the node's default says.</summary>
    public Task<byte[]?> FetchAsync(string key, CancellationToken cancellationToken = default) => FetchAsync(key, null, cancellationToken);

    /// <summary>The value of a key read at <paramref name="consistency"/> (null: the node's default), or null when the key is missing.</summary>
    public async Task<byte[]?> FetchAsync(string key, ReadConsistencyLevel? consistency, CancellationToken cancellationToken = default)
    {
        try
        {
            var request = new KvsFetchRequest { Key = key };
            var response = await (consistency is { } level
                ? _calls.StartAsync(KeyValueStoreMethods.Fetch, request, new Metadata { { ReadConsistencyLevels.HeaderName, level.HeaderValue() } }, cancellationToken)
                : _calls.StartAsync(KeyValueStoreMethods.Fetch, request, cancellationToken)).ConfigureAwait(false);
            return ToArray(response.Value);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>
    /// Version <paramref name="version"/> of a key's value (0: the current one), or null when the key is missing or the
    /// network no longer keeps that version (<c>memo.network.versions</c>).
    /// </summary>
    public async Task<byte[]?> FetchAsync(string key, ulong version, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await _calls.StartAsync(KeyValueStoreMethods.Fetch, new KvsFetchRequest { Key = key, Version = version }, cancellationToken).ConfigureAwait(false);
            return ToArray(response.Value);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>
    /// The node's whole answer (the value and the version it is) for version <paramref name="version"/> of a key (0: the
    /// current one) read at <paramref name="consistency"/> (null: the node's default). Every failure throws
    /// <see cref="GrpcException"/>, NOT_FOUND included, with the node's message (which names the kept versions when the
    /// key exists but that version does not).
    /// </summary>
    public async Task<Memo.Protocol.Kvs.FetchResponse> FetchEntryAsync(string key, ulong version = 0, ReadConsistencyLevel? consistency = null, CancellationToken cancellationToken = default)
    {
        var request = new KvsFetchRequest { Key = key, Version = version };
        try
        {
            return await (consistency is { } level
                ? _calls.StartAsync(KeyValueStoreMethods.Fetch, request, new Metadata { { ReadConsistencyLevels.HeaderName, level.HeaderValue() } }, cancellationToken)
                : _calls.StartAsync(KeyValueStoreMethods.Fetch, request, cancellationToken)).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>The kept versions of a key, newest (the current value) first; null when the key is missing.</summary>
    public async Task<IReadOnlyList<ulong>?> ListVersionsAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await _calls.StartAsync(KeyValueStoreMethods.ListVersions, new ListVersionsRequest { Key = key }, cancellationToken).ConfigureAwait(false);
            return response.Versions.Select(v => v.Version).ToList();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>Deletes a key; returns false when the key was missing.</summary>
    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            await _calls.StartAsync(KeyValueStoreMethods.Delete, new KvsDeleteRequest { Key = key }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>One page of keys (memo's List: prefix, marker, delimiter, maxKeys; 0 means the node's default page size).</summary>
    public Task<ListResponse> ListAsync(string prefix = "", string marker = "", string delimiter = "", ulong maxKeys = 0, CancellationToken cancellationToken = default) =>
        _calls.CallAsync(KeyValueStoreMethods.List, new ListRequest { Prefix = prefix, Marker = marker, Delimiter = delimiter, MaxKeys = maxKeys }, cancellationToken);

    /// <summary>Every key with the prefix, page by page, in key order.</summary>
    public async IAsyncEnumerable<string> ListAllAsync(string prefix = "", ulong pageSize = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var marker = "";
        while (true)
        {
            var page = await ListAsync(prefix, marker, "", pageSize, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item.Key;
            }
            // A page cut short by the node's work budget says where to continue, and may even be empty.
            var next = page.NextMarker.Length > 0 ? page.NextMarker : page.Items.Count > 0 ? page.Items[^1].Key : null;
            if (!page.Truncated || next is null)
            {
                yield break;
            }
            marker = next;
        }
    }

    // ---- value store ----

    /// <summary>Stores data as an immutable block owned by the node (by the user, with <see cref="Credentials"/>); returns its address.</summary>
    public async Task<BlockAddress> InsertImmutableBlockAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var request = new InsertImmutableBlockRequest { Data = ByteString.CopyFrom(data.Span) };
        if (_credentials is not null)
        {
            request.Owner = ByteString.CopyFrom(_credentials.Key.PublicKey.Spki.Span);
        }
        var response = await _calls.CallAsync(ValueStoreMethods.InsertImmutableBlock, request, cancellationToken).ConfigureAwait(false);
        return BlockAddress.FromBytes(response.Address.Span);
    }

    /// <summary>
    /// Stores data as a new mutable block (version 0) owned and signed by the node; with <see cref="Credentials"/>, owned
    /// and signed by the user, here (the node signs nothing for an authenticated user). Returns its address.
    /// </summary>
    public async Task<BlockAddress> InsertMutableBlockAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (_credentials is not null)
        {
            var block = BlockFactory.MakeMutable(_credentials.Key, data.Span);
            await InsertBlockAsync(block, cancellationToken).ConfigureAwait(false);
            return BlockAddress.FromBytes(block.Address.Span);
        }
        var response = await _calls.CallAsync(ValueStoreMethods.InsertMutableBlock, new InsertMutableBlockRequest { Data = ByteString.CopyFrom(data.Span) }, cancellationToken).ConfigureAwait(false);
        return BlockAddress.FromBytes(response.Address.Span);
    }

    /// <summary>Stores a block built (and, for mutable or named blocks, signed) by the caller or by a Make call.</summary>
    public Task InsertBlockAsync(Block block, CancellationToken cancellationToken = default) =>
        _calls.CallAsync(ValueStoreMethods.Insert, new VsInsertRequest { Block = block }, cancellationToken);

    /// <summary>
    /// Stores the next version of a mutable block. Returns <see cref="BlockUpdateResult.Updated"/>, or a conflict carrying
    /// the block as stored now when another writer got there first.
    /// </summary>
    public async Task<BlockUpdateResult> UpdateBlockAsync(Block block, CancellationToken cancellationToken = default)
    {
        var response = await _calls.CallAsync(ValueStoreMethods.Update, new VsUpdateRequest { Block = block }, cancellationToken).ConfigureAwait(false);
        return response.Current is null ? BlockUpdateResult.Updated : new BlockUpdateResult.Conflict(response.Current);
    }

    /// <summary>The block at an address, verified against it, or null when missing.</summary>
    /// <exception cref="GrpcException">DataLoss when the node's answer is not a valid block at that address.</exception>
    public Task<Block?> FetchBlockAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        FetchBlockAsync(new VsFetchRequest { Address = ByteString.CopyFrom(address.ToArray()) }, address, cancellationToken);

    /// <summary>
    /// Version <paramref name="version"/> of the mutable block at an address, verified against it, or null when the block
    /// is missing or the network no longer keeps that version (<c>memo.network.versions</c>).
    /// </summary>
    /// <exception cref="GrpcException">DataLoss when the node's answer is not a valid block at that address;
    /// InvalidArgument when the block is not mutable.</exception>
    public async Task<Block?> FetchBlockAsync(BlockAddress address, long version, CancellationToken cancellationToken = default)
    {
        var block = await FetchBlockAsync(new VsFetchRequest { Address = ByteString.CopyFrom(address.ToArray()), Version = version, HasVersion = true }, address, cancellationToken)
            .ConfigureAwait(false);
        return block is null || block.Version == version
            ? block
            : throw new GrpcException(GrpcStatusCode.DataLoss, $"The node answered Fetch({address}, version {version}) with version {block.Version}.");
    }

    /// <summary>The kept versions of the mutable block at an address, newest (the current block) first; null when missing.</summary>
    public async Task<IReadOnlyList<long>?> ListBlockVersionsAsync(BlockAddress address, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await _calls.StartAsync(ValueStoreMethods.ListVersions,
                new Memo.Protocol.ValueStore.ListBlockVersionsRequest { Address = ByteString.CopyFrom(address.ToArray()) }, cancellationToken).ConfigureAwait(false);
            return [.. response.Versions];
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    private async Task<Block?> FetchBlockAsync(VsFetchRequest request, BlockAddress address, CancellationToken cancellationToken)
    {
        VsFetchResponse response;
        try
        {
            response = await _calls.StartAsync(ValueStoreMethods.Fetch, request, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
        if (response.Block is null)
        {
            throw new GrpcException(GrpcStatusCode.DataLoss, $"The node answered Fetch({address}) with no block.");
        }
        var check = BlockValidator.ValidateAt(response.Block, address);
        if (!check.IsValid)
        {
            throw new GrpcException(GrpcStatusCode.DataLoss, $"The node returned an invalid block for {address}: {check.Reason}");
        }
        return response.Block;
    }

    /// <summary>Removes a block; the node signs the removal of blocks it owns when <paramref name="removalSignature"/> is empty. False when missing.</summary>
    public async Task<bool> DeleteBlockAsync(BlockAddress address, ReadOnlyMemory<byte> removalSignature = default, CancellationToken cancellationToken = default)
    {
        try
        {
            await _calls.StartAsync(ValueStoreMethods.Delete, new VsDeleteRequest { Address = ByteString.CopyFrom(address.ToArray()), Signature = ByteString.CopyFrom(removalSignature.Span) }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    /// <summary>Builds (without storing) a new mutable block owned by the node.</summary>
    public Task<Block> MakeMutableBlockAsync(CancellationToken cancellationToken = default) =>
        _calls.CallAsync(ValueStoreMethods.MakeMutableBlock, new MakeMutableBlockRequest(), cancellationToken);

    /// <summary>Builds (without storing) an immutable block for the data, owned by the node.</summary>
    public Task<Block> MakeImmutableBlockAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _calls.CallAsync(ValueStoreMethods.MakeImmutableBlock, new MakeImmutableBlockRequest { Data = ByteString.CopyFrom(data.Span) }, cancellationToken);

    /// <summary>Builds (without storing) a named block owned by the node.</summary>
    public Task<Block> MakeNamedBlockAsync(ReadOnlyMemory<byte> name, CancellationToken cancellationToken = default) =>
        _calls.CallAsync(ValueStoreMethods.MakeNamedBlock, new MakeNamedBlockRequest { Key = ByteString.CopyFrom(name.Span) }, cancellationToken);

    /// <summary>The address of the node-owned named block with this name.</summary>
    public async Task<BlockAddress> NamedBlockAddressAsync(ReadOnlyMemory<byte> name, CancellationToken cancellationToken = default)
    {
        var response = await _calls.CallAsync(ValueStoreMethods.NamedBlockAddress, new NamedBlockAddressRequest { Key = ByteString.CopyFrom(name.Span) }, cancellationToken).ConfigureAwait(false);
        return BlockAddress.FromBytes(response.Address.Span);
    }

    /// <summary>
    /// Calls any unary method on the node (e.g. one of <see cref="KeyValueStoreMethods"/>) with this client's default
    /// timeout as its deadline.
    /// </summary>
    /// <exception cref="GrpcException">Any non-OK status.</exception>
    public Task<TResponse> CallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        return _calls.CallAsync(method, request, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsChannel)
        {
            _channel.Dispose();
        }
    }

    // A parsed ByteString owns an exact-size array nobody else sees once the response is dropped: hand it over
    // instead of copying it (the hot path of FetchAsync).
    private static byte[] ToArray(ByteString value) =>
        MemoryMarshal.TryGetArray(value.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : value.ToByteArray();
}
