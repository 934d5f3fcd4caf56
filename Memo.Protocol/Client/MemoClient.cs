using System.Runtime.CompilerServices;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using Memo.Protocol.ValueStore;
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
/// The .NET client of a Memo node: the key-value store (<c>memo.kvs</c>) and the value store (<c>memo.vs</c>).
/// Thread-safe; one instance multiplexes all calls over HTTP/2.
/// </summary>
/// <remarks>
/// Expected outcomes are return values: a missing key is <c>null</c> or <c>false</c>, a lost version race is
/// <see cref="BlockUpdateResult.Conflict"/>. Everything else (node unreachable, bad input, timeouts) throws
/// <see cref="GrpcException"/> with the gRPC status. Blocks fetched from the value store are verified against the
/// address asked for; a forged or corrupted block throws <see cref="GrpcException"/> with
/// <see cref="GrpcStatusCode.DataLoss"/>.
/// </remarks>
public sealed class MemoClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;
    private readonly TimeSpan? _timeout;

    /// <summary>Connects to a node at <c>host:port</c> (or <c>http://host:port</c>).</summary>
    public MemoClient(string target, MemoClientOptions? options = null)
        : this(new GrpcChannel(target, options?.Channel), ownsChannel: true, options?.Timeout)
    {
    }

    /// <summary>Uses an existing channel, which the caller keeps owning.</summary>
    public MemoClient(GrpcChannel channel, TimeSpan? timeout = null)
        : this(channel, ownsChannel: false, timeout)
    {
    }

    private MemoClient(GrpcChannel channel, bool ownsChannel, TimeSpan? timeout)
    {
        _channel = channel;
        _ownsChannel = ownsChannel;
        _timeout = timeout;
    }

    /// <summary>The underlying channel, for calling other services on the same node.</summary>
    public GrpcChannel Channel => _channel;

    // ---- key-value store ----

    /// <summary>Inserts a new key; returns false when the key already exists.</summary>
    public async Task<bool> InsertAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        try
        {
            await CallAsync(KeyValueStoreMethods.Insert, new KvsInsertRequest { Key = key, Value = ByteString.CopyFrom(value.Span) }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (GrpcException e) when (e.Status == GrpcStatusCode.AlreadyExists)
        {
            return false;
        }
    }

    /// <summary>Replaces the value of an existing key; returns false when the key is missing.</summary>
    public async Task<bool> UpdateAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        try
        {
            await CallAsync(KeyValueStoreMethods.Update, new KvsUpdateRequest { Key = key, Value = ByteString.CopyFrom(value.Span) }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (GrpcException e) when (e.Status == GrpcStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Inserts or replaces a key's value.</summary>
    public Task UpsertAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default) =>
        CallAsync(KeyValueStoreMethods.Upsert, new UpsertRequest { Key = key, Value = ByteString.CopyFrom(value.Span) }, cancellationToken);

    /// <summary>The value of a key, or null when the key is missing.</summary>
    public async Task<byte[]?> FetchAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await CallAsync(KeyValueStoreMethods.Fetch, new KvsFetchRequest { Key = key }, cancellationToken).ConfigureAwait(false);
            return response.Value.ToByteArray();
        }
        catch (GrpcException e) when (e.Status == GrpcStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Deletes a key; returns false when the key was missing.</summary>
    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            await CallAsync(KeyValueStoreMethods.Delete, new KvsDeleteRequest { Key = key }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (GrpcException e) when (e.Status == GrpcStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>One page of keys (memo's List: prefix, marker, delimiter, maxKeys; 0 means the node's default page size).</summary>
    public Task<ListResponse> ListAsync(string prefix = "", string marker = "", string delimiter = "", ulong maxKeys = 0, CancellationToken cancellationToken = default) =>
        CallAsync(KeyValueStoreMethods.List, new ListRequest { Prefix = prefix, Marker = marker, Delimiter = delimiter, MaxKeys = maxKeys }, cancellationToken);

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
            if (!page.Truncated || page.Items.Count == 0)
            {
                yield break;
            }
            marker = page.Items[^1].Key;
        }
    }

    // ---- value store ----

    /// <summary>Stores data as an immutable block owned by the node; returns its address.</summary>
    public async Task<BlockAddress> InsertImmutableBlockAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var response = await CallAsync(ValueStoreMethods.InsertImmutableBlock, new InsertImmutableBlockRequest { Data = ByteString.CopyFrom(data.Span) }, cancellationToken).ConfigureAwait(false);
        return BlockAddress.FromBytes(response.Address.Span);
    }

    /// <summary>Stores data as a new mutable block (version 0) owned by the node; returns its address.</summary>
    public async Task<BlockAddress> InsertMutableBlockAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var response = await CallAsync(ValueStoreMethods.InsertMutableBlock, new InsertMutableBlockRequest { Data = ByteString.CopyFrom(data.Span) }, cancellationToken).ConfigureAwait(false);
        return BlockAddress.FromBytes(response.Address.Span);
    }

    /// <summary>Stores a block built (and, for mutable or named blocks, signed) by the caller or by a Make call.</summary>
    public Task InsertBlockAsync(Block block, CancellationToken cancellationToken = default) =>
        CallAsync(ValueStoreMethods.Insert, new VsInsertRequest { Block = block }, cancellationToken);

    /// <summary>
    /// Stores the next version of a mutable block. Returns <see cref="BlockUpdateResult.Updated"/>, or a conflict carrying
    /// the block as stored now when another writer got there first.
    /// </summary>
    public async Task<BlockUpdateResult> UpdateBlockAsync(Block block, CancellationToken cancellationToken = default)
    {
        var response = await CallAsync(ValueStoreMethods.Update, new VsUpdateRequest { Block = block }, cancellationToken).ConfigureAwait(false);
        return response.Current is null ? BlockUpdateResult.Updated : new BlockUpdateResult.Conflict(response.Current);
    }

    /// <summary>The block at an address, verified against it, or null when missing.</summary>
    public async Task<Block?> FetchBlockAsync(BlockAddress address, CancellationToken cancellationToken = default)
    {
        VsFetchResponse response;
        try
        {
            response = await CallAsync(ValueStoreMethods.Fetch, new VsFetchRequest { Address = ByteString.CopyFrom(address.ToArray()) }, cancellationToken).ConfigureAwait(false);
        }
        catch (GrpcException e) when (e.Status == GrpcStatusCode.NotFound)
        {
            return null;
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
            await CallAsync(ValueStoreMethods.Delete, new VsDeleteRequest { Address = ByteString.CopyFrom(address.ToArray()), Signature = ByteString.CopyFrom(removalSignature.Span) }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (GrpcException e) when (e.Status == GrpcStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Builds (without storing) a new mutable block owned by the node.</summary>
    public Task<Block> MakeMutableBlockAsync(CancellationToken cancellationToken = default) =>
        CallAsync(ValueStoreMethods.MakeMutableBlock, new MakeMutableBlockRequest(), cancellationToken);

    /// <summary>Builds (without storing) an immutable block for the data, owned by the node.</summary>
    public Task<Block> MakeImmutableBlockAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        CallAsync(ValueStoreMethods.MakeImmutableBlock, new MakeImmutableBlockRequest { Data = ByteString.CopyFrom(data.Span) }, cancellationToken);

    /// <summary>Builds (without storing) a named block owned by the node.</summary>
    public Task<Block> MakeNamedBlockAsync(ReadOnlyMemory<byte> name, CancellationToken cancellationToken = default) =>
        CallAsync(ValueStoreMethods.MakeNamedBlock, new MakeNamedBlockRequest { Key = ByteString.CopyFrom(name.Span) }, cancellationToken);

    /// <summary>The address of the node-owned named block with this name.</summary>
    public async Task<BlockAddress> NamedBlockAddressAsync(ReadOnlyMemory<byte> name, CancellationToken cancellationToken = default)
    {
        var response = await CallAsync(ValueStoreMethods.NamedBlockAddress, new NamedBlockAddressRequest { Key = ByteString.CopyFrom(name.Span) }, cancellationToken).ConfigureAwait(false);
        return BlockAddress.FromBytes(response.Address.Span);
    }

    /// <summary>Calls any unary method on the node with this client's default timeout.</summary>
    public Task<TResponse> CallAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        _channel.UnaryAsync(method, request, new GrpcCallOptions { Timeout = _timeout, CancellationToken = cancellationToken });

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsChannel)
        {
            _channel.Dispose();
        }
    }
}
