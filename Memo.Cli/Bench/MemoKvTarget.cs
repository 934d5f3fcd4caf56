using Google.Protobuf;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;

namespace Memo.Cli.Bench;

/// <summary>A Memo node's key-value store: puts are <c>Upsert</c>, gets are <c>Fetch</c> (linearizable on the node).</summary>
internal sealed class MemoKvTarget : IKvBenchTarget
{
    private readonly GrpcChannel _channel;
    private readonly TimeSpan _timeout;
    private readonly string[] _keys;
    private readonly ByteString _value;

    public MemoKvTarget(GrpcChannel channel, TimeSpan timeout, int keys, byte[] value)
    {
        _channel = channel;
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
        _channel.UnaryAsync(KeyValueStoreMethods.Upsert, new UpsertRequest { Key = _keys[key], Value = _value }, Options(cancellationToken));

    /// <inheritdoc />
    public async Task<bool> GetAsync(int key, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.UnaryAsync(KeyValueStoreMethods.Fetch, new FetchRequest { Key = _keys[key] }, Options(cancellationToken)).ConfigureAwait(false);
            return true;
        }
        catch (GrpcException e) when (e.Status == GrpcStatusCode.NotFound)
        {
            return false;
        }
    }

    private GrpcCallOptions Options(CancellationToken cancellationToken) => new() { Timeout = _timeout, CancellationToken = cancellationToken };
}
