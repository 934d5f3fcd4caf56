using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Memo.Protocol.Blocks;
using Memo.Protocol.Kvs;
using Memo.Protocol.ValueStore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using KvsDeleteRequest = Memo.Protocol.Kvs.DeleteRequest;
using KvsDeleteResponse = Memo.Protocol.Kvs.DeleteResponse;
using KvsFetchRequest = Memo.Protocol.Kvs.FetchRequest;
using KvsFetchResponse = Memo.Protocol.Kvs.FetchResponse;
using KvsInsertRequest = Memo.Protocol.Kvs.InsertRequest;
using KvsInsertResponse = Memo.Protocol.Kvs.InsertResponse;
using KvsUpdateRequest = Memo.Protocol.Kvs.UpdateRequest;
using KvsUpdateResponse = Memo.Protocol.Kvs.UpdateResponse;
using VsDeleteRequest = Memo.Protocol.ValueStore.DeleteRequest;
using VsDeleteResponse = Memo.Protocol.ValueStore.DeleteResponse;
using VsFetchRequest = Memo.Protocol.ValueStore.FetchRequest;
using VsFetchResponse = Memo.Protocol.ValueStore.FetchResponse;
using VsUpdateRequest = Memo.Protocol.ValueStore.UpdateRequest;
using VsUpdateResponse = Memo.Protocol.ValueStore.UpdateResponse;

namespace Memo.Node.Tests.Cli;

/// <summary>
/// A stand-in for a Memo node: memo.kvs and memo.vs served by Grpc.AspNetCore on 127.0.0.1 (a free port, cleartext
/// HTTP/2), state in dictionaries, blocks built and signed with a node key. Only for exercising the CLI end to end
/// through its real client; it has no replication and no persistence.
/// </summary>
internal sealed class FakeMemoNode : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, byte[]> _kv = new(StringComparer.Ordinal);
    private readonly Dictionary<BlockAddress, Block> _blocks = [];
    private readonly MemoKeyPair _key = MemoKeyPair.Generate();
    private WebApplication? _app;

    public string Target { get; private set; } = "";

    /// <summary>When set, KV Fetch waits for the call to be cancelled (to provoke a client timeout).</summary>
    public bool FetchHangs { get; set; }

    /// <summary>Runs inside block Update before the version check, to simulate a concurrent writer.</summary>
    public Action<Block>? BeforeBlockUpdate { get; set; }

    public static async Task<FakeMemoNode> StartAsync()
    {
        var node = new FakeMemoNode();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(1));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new KeyValueStoreService(node)).AddSingleton(new ValueStoreService(node));
        var app = builder.Build();
        app.MapGrpcService<KeyValueStoreService>();
        app.MapGrpcService<ValueStoreService>();
        await app.StartAsync();
        node._app = app;
        node.Target = new Uri(app.Urls.Single()).Authority;
        return node;
    }

    public byte[]? Value(string key)
    {
        lock (_gate)
        {
            return _kv.GetValueOrDefault(key);
        }
    }

    public Block? StoredBlock(BlockAddress address)
    {
        lock (_gate)
        {
            return _blocks.GetValueOrDefault(address)?.Clone();
        }
    }

    public void BumpVersion(BlockAddress address)
    {
        lock (_gate)
        {
            _blocks[address] = BlockFactory.NextVersion(_blocks[address], "concurrent"u8, _key);
        }
    }

    // S3 listing: keys after the marker with the prefix; keys sharing prefix..delimiter roll up into one prefix,
    // and a marker equal to a rolled-up prefix skips every key under it.
    private ListResponse List(ListRequest r)
    {
        var response = new ListResponse();
        var max = r.MaxKeys == 0 ? 1000UL : r.MaxKeys;
        ulong count = 0;
        foreach (var key in _kv.Keys)
        {
            if (!key.StartsWith(r.Prefix, StringComparison.Ordinal) || string.CompareOrdinal(key, r.Marker) <= 0)
            {
                continue;
            }
            string? rolled = null;
            if (r.Delimiter.Length > 0)
            {
                var at = key.IndexOf(r.Delimiter, r.Prefix.Length, StringComparison.Ordinal);
                if (at >= 0)
                {
                    rolled = key[..(at + r.Delimiter.Length)];
                }
            }
            if (rolled is not null && (rolled == r.Marker || (response.Prefixes.Count > 0 && response.Prefixes[^1] == rolled)))
            {
                continue;
            }
            if (count == max)
            {
                response.Truncated = true;
                break;
            }
            if (rolled is null)
            {
                response.Items.Add(new ListItem { Key = key });
            }
            else
            {
                response.Prefixes.Add(rolled);
            }
            count++;
        }
        return response;
    }

    private T Locked<T>(Func<T> body)
    {
        lock (_gate)
        {
            return body();
        }
    }

    private static RpcException Status(StatusCode code, string detail) => new(new Status(code, detail));

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _key.Dispose();
    }

    /// <summary>memo.kvs over the node's dictionary.</summary>
    private sealed class KeyValueStoreService(FakeMemoNode node) : KeyValueStore.KeyValueStoreBase
    {
        public override Task<KvsInsertResponse> Insert(KvsInsertRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
            node._kv.TryAdd(request.Key, request.Value.ToByteArray())
                ? new KvsInsertResponse()
                : throw Status(StatusCode.AlreadyExists, $"Key '{request.Key}' exists.")));

        public override Task<KvsUpdateResponse> Update(KvsUpdateRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
        {
            if (!node._kv.ContainsKey(request.Key))
            {
                throw Status(StatusCode.NotFound, $"No key '{request.Key}'.");
            }
            node._kv[request.Key] = request.Value.ToByteArray();
            return new KvsUpdateResponse();
        }));

        public override Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
        {
            node._kv[request.Key] = request.Value.ToByteArray();
            return new UpsertResponse();
        }));

        public override async Task<KvsFetchResponse> Fetch(KvsFetchRequest request, ServerCallContext context)
        {
            if (node.FetchHangs)
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            return node.Locked(() => node._kv.TryGetValue(request.Key, out var v)
                ? new KvsFetchResponse { Value = ByteString.CopyFrom(v) }
                : throw Status(StatusCode.NotFound, $"No key '{request.Key}'."));
        }

        public override Task<KvsDeleteResponse> Delete(KvsDeleteRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
            node._kv.Remove(request.Key)
                ? new KvsDeleteResponse()
                : throw Status(StatusCode.NotFound, $"No key '{request.Key}'.")));

        public override Task<ListResponse> List(ListRequest request, ServerCallContext context) =>
            Task.FromResult(node.Locked(() => node.List(request)));
    }

    /// <summary>memo.vs over the node's block dictionary, blocks built and signed with the node's key.</summary>
    private sealed class ValueStoreService(FakeMemoNode node) : ValueStore.ValueStoreBase
    {
        public override Task<InsertImmutableBlockResponse> InsertImmutableBlock(InsertImmutableBlockRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
        {
            var block = BlockFactory.MakeImmutable(request.Data.Span, node._key.PublicKey);
            node._blocks[block.GetAddress()] = block;
            return new InsertImmutableBlockResponse { Address = block.Address };
        }));

        public override Task<InsertMutableBlockResponse> InsertMutableBlock(InsertMutableBlockRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
        {
            var block = BlockFactory.MakeMutable(node._key, request.Data.Span);
            node._blocks[block.GetAddress()] = block;
            return new InsertMutableBlockResponse { Address = block.Address };
        }));

        public override Task<VsFetchResponse> Fetch(VsFetchRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
            node._blocks.TryGetValue(BlockAddress.FromBytes(request.Address.Span), out var b)
                ? new VsFetchResponse { Block = b }
                : throw Status(StatusCode.NotFound, "No such block.")));

        public override Task<VsUpdateResponse> Update(VsUpdateRequest request, ServerCallContext context)
        {
            node.BeforeBlockUpdate?.Invoke(request.Block);
            return Task.FromResult(node.Locked(() =>
            {
                var address = request.Block.GetAddress();
                if (!node._blocks.TryGetValue(address, out var stored))
                {
                    throw Status(StatusCode.NotFound, "No such block.");
                }
                if (request.Block.Version != stored.Version + 1)
                {
                    return new VsUpdateResponse { Current = stored };
                }
                var block = request.Block.Clone();
                var check = BlockFactory.TrySeal(block, node._key);
                if (!check.IsValid)
                {
                    throw Status(StatusCode.PermissionDenied, check.ToString());
                }
                node._blocks[address] = block;
                return new VsUpdateResponse();
            }));
        }

        public override Task<VsDeleteResponse> Delete(VsDeleteRequest request, ServerCallContext context) => Task.FromResult(node.Locked(() =>
            node._blocks.Remove(BlockAddress.FromBytes(request.Address.Span))
                ? new VsDeleteResponse()
                : throw Status(StatusCode.NotFound, "No such block.")));
    }
}
