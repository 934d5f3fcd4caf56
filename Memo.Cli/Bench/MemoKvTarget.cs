using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Memo.Protocol.Kvs;

namespace Memo.Cli.Bench;

/// <summary>
/// A Memo node's key-value store through the generated <see cref="KeyValueStore.KeyValueStoreClient"/>: puts are
/// <c>Upsert</c>, gets are <c>Fetch</c> (at the node's default consistency unless the run names one: then every put
/// or get carries the level's header). Calls fail with the raw
/// <see cref="RpcException"/>, as the etcd target's do, so both measure the same client code.
/// </summary>
internal sealed class MemoKvTarget : IKvBenchTarget
{
    private readonly KeyValueStore.KeyValueStoreClient _client;
    private readonly TimeSpan _timeout;
    private readonly string[] _keys;
    private readonly ByteString _value;
    private readonly Metadata? _putHeaders;
    private readonly Metadata? _getHeaders;

    public MemoKvTarget(GrpcChannel channel, TimeSpan timeout, int keys, byte[] value,
        Memo.Protocol.Client.WriteConsistencyLevel? write = null, Memo.Protocol.Client.ReadConsistencyLevel? read = null)
    {
        _putHeaders = write is { } w ? new Metadata { { Memo.Protocol.Client.WriteConsistencyLevels.HeaderName, Memo.Protocol.Client.WriteConsistencyLevels.HeaderValue(w) } } : null;
        _getHeaders = read is { } r ? new Metadata { { Memo.Protocol.Client.ReadConsistencyLevels.HeaderName, Memo.Protocol.Client.ReadConsistencyLevels.HeaderValue(r) } } : null;
        _client = new KeyValueStore.KeyValueStoreClient(channel);
        _timeout = timeout;
        _keys = new string[keys];
        for (var i = 0; i < keys; i++)
        {
            _keys[i] = BenchKeys.Name(i);
        }
        // Built once: each request shares the immutable ByteString, as the etcd target does.
        _value = ByteString.CopyFrom(value);
    }

    /// <inheritdoc />
    public Task PutAsync(int key, CancellationToken cancellationToken) =>
        _client.UpsertAsync(new UpsertRequest { Key = _keys[key], Value = _value }, Options(_putHeaders, cancellationToken)).ResponseAsync;

    /// <inheritdoc />
    public async Task<bool> GetAsync(int key, CancellationToken cancellationToken)
    {
        try
        {
            await _client.FetchAsync(new FetchRequest { Key = _keys[key] }, Options(_getHeaders, cancellationToken)).ResponseAsync.ConfigureAwait(false);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    private CallOptions Options(Metadata? headers, CancellationToken cancellationToken) =>
        new(headers: headers, deadline: DateTime.UtcNow + _timeout, cancellationToken: cancellationToken);
}
