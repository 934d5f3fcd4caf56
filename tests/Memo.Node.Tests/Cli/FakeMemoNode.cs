using System.Net;
using Google.Protobuf;
using Memo.Node.Api.Grpc;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using Memo.Protocol.ValueStore;
using Microsoft.Extensions.Logging.Abstractions;
using KvsDeleteRequest = Memo.Protocol.Kvs.DeleteRequest;
using KvsDeleteResponse = Memo.Protocol.Kvs.DeleteResponse;
using KvsFetchResponse = Memo.Protocol.Kvs.FetchResponse;
using KvsInsertResponse = Memo.Protocol.Kvs.InsertResponse;
using KvsUpdateResponse = Memo.Protocol.Kvs.UpdateResponse;
using VsDeleteResponse = Memo.Protocol.ValueStore.DeleteResponse;
using VsFetchResponse = Memo.Protocol.ValueStore.FetchResponse;
using VsUpdateResponse = Memo.Protocol.ValueStore.UpdateResponse;

namespace Memo.Node.Tests.Cli;

/// <summary>
/// A stand-in for a Memo node until the real one exists: memo.kvs and memo.vs over the real gRPC server, state in
/// dictionaries, blocks built and signed with a node key. Only for exercising the CLI end to end; it has no
/// replication and no persistence.
/// </summary>
internal sealed class FakeMemoNode : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, byte[]> _kv = new(StringComparer.Ordinal);
    private readonly Dictionary<BlockAddress, Block> _blocks = [];
    private readonly MemoKeyPair _key = MemoKeyPair.Generate();
    private GrpcServer? _server;

    public string Target { get; private set; } = "";

    /// <summary>When set, KV Fetch waits for the call to be cancelled (to provoke a client timeout).</summary>
    public bool FetchHangs { get; set; }

    /// <summary>Runs inside block Update before the version check, to simulate a concurrent writer.</summary>
    public Action<Block>? BeforeBlockUpdate { get; set; }

    public static async Task<FakeMemoNode> StartAsync()
    {
        var node = new FakeMemoNode();
        var registry = new GrpcServiceRegistry();
        node.Register(registry);
        var options = new GrpcServerOptions { Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)], ShutdownGracePeriod = TimeSpan.FromSeconds(1) };
        node._server = await GrpcServer.StartAsync(options, registry, NullLoggerFactory.Instance, CancellationToken.None);
        var endpoint = node._server.BoundEndpoints[0];
        node.Target = $"{endpoint.Address}:{endpoint.Port}";
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

    private void Register(GrpcServiceRegistry registry)
    {
        registry
            .AddUnary(KeyValueStoreMethods.Insert, (r, _) => Kv(() =>
            {
                if (!_kv.TryAdd(r.Key, r.Value.ToByteArray()))
                {
                    throw new GrpcException(GrpcStatusCode.AlreadyExists, $"Key '{r.Key}' exists.");
                }
                return new KvsInsertResponse();
            }))
            .AddUnary(KeyValueStoreMethods.Update, (r, _) => Kv(() =>
            {
                if (!_kv.ContainsKey(r.Key))
                {
                    throw new GrpcException(GrpcStatusCode.NotFound, $"No key '{r.Key}'.");
                }
                _kv[r.Key] = r.Value.ToByteArray();
                return new KvsUpdateResponse();
            }))
            .AddUnary(KeyValueStoreMethods.Upsert, (r, _) => Kv(() =>
            {
                _kv[r.Key] = r.Value.ToByteArray();
                return new UpsertResponse();
            }))
            .AddUnary(KeyValueStoreMethods.Fetch, async (r, context) =>
            {
                if (FetchHangs)
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                return Kv(() => _kv.TryGetValue(r.Key, out var v)
                    ? new KvsFetchResponse { Value = ByteString.CopyFrom(v) }
                    : throw new GrpcException(GrpcStatusCode.NotFound, $"No key '{r.Key}'.")).Result;
            })
            .AddUnary(KeyValueStoreMethods.Delete, (r, _) => Kv(() => _kv.Remove(r.Key)
                ? new KvsDeleteResponse()
                : throw new GrpcException(GrpcStatusCode.NotFound, $"No key '{r.Key}'.")))
            .AddUnary(KeyValueStoreMethods.List, (r, _) => Kv(() => List(r)))
            .AddUnary(ValueStoreMethods.InsertImmutableBlock, (r, _) => Kv(() =>
            {
                var block = BlockFactory.MakeImmutable(r.Data.Span, _key.PublicKey);
                _blocks[block.GetAddress()] = block;
                return new InsertImmutableBlockResponse { Address = block.Address };
            }))
            .AddUnary(ValueStoreMethods.InsertMutableBlock, (r, _) => Kv(() =>
            {
                var block = BlockFactory.MakeMutable(_key, r.Data.Span);
                _blocks[block.GetAddress()] = block;
                return new InsertMutableBlockResponse { Address = block.Address };
            }))
            .AddUnary(ValueStoreMethods.Fetch, (r, _) => Kv(() => _blocks.TryGetValue(BlockAddress.FromBytes(r.Address.Span), out var b)
                ? new VsFetchResponse { Block = b }
                : throw new GrpcException(GrpcStatusCode.NotFound, "No such block.")))
            .AddUnary(ValueStoreMethods.Update, (r, _) =>
            {
                BeforeBlockUpdate?.Invoke(r.Block);
                return Kv(() =>
                {
                    var address = r.Block.GetAddress();
                    if (!_blocks.TryGetValue(address, out var stored))
                    {
                        throw new GrpcException(GrpcStatusCode.NotFound, "No such block.");
                    }
                    if (r.Block.Version != stored.Version + 1)
                    {
                        return new VsUpdateResponse { Current = stored };
                    }
                    var block = r.Block.Clone();
                    var check = BlockFactory.TrySeal(block, _key);
                    if (!check.IsValid)
                    {
                        throw new GrpcException(GrpcStatusCode.PermissionDenied, check.ToString());
                    }
                    _blocks[address] = block;
                    return new VsUpdateResponse();
                });
            })
            .AddUnary(ValueStoreMethods.Delete, (r, _) => Kv(() => _blocks.Remove(BlockAddress.FromBytes(r.Address.Span))
                ? new VsDeleteResponse()
                : throw new GrpcException(GrpcStatusCode.NotFound, "No such block.")));
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

    private ValueTask<T> Kv<T>(Func<T> body)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(body());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _key.Dispose();
    }
}
