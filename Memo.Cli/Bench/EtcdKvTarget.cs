using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Memo.Cli.Bench.Etcd;

namespace Memo.Cli.Bench;

/// <summary>
/// An etcd member's v3 KV API through the generated <see cref="KV.KVClient"/>, on the same kind of channel as the
/// Memo target: puts are <c>Put</c>, gets are single-key <c>Range</c> requests with <c>serializable = false</c>
/// (etcd's linearizable default). Calls fail with the raw <see cref="RpcException"/>.
/// </summary>
internal sealed class EtcdKvTarget : IKvBenchTarget
{
    private readonly KV.KVClient _client;
    private readonly TimeSpan _timeout;
    private readonly ByteString[] _keys;
    private readonly ByteString _value;

    public EtcdKvTarget(GrpcChannel channel, TimeSpan timeout, int keys, byte[] value)
    {
        _client = new KV.KVClient(channel);
        _timeout = timeout;
        _keys = new ByteString[keys];
        for (var i = 0; i < keys; i++)
        {
            _keys[i] = ByteString.CopyFromUtf8(BenchKeys.Name(i));
        }
        _value = ByteString.CopyFrom(value);
    }

    /// <inheritdoc />
    public Task PutAsync(int key, CancellationToken cancellationToken) =>
        _client.PutAsync(new PutRequest { Key = _keys[key], Value = _value }, Options(cancellationToken)).ResponseAsync;

    /// <inheritdoc />
    public async Task<bool> GetAsync(int key, CancellationToken cancellationToken)
    {
        var response = await _client.RangeAsync(new RangeRequest { Key = _keys[key], Serializable = false }, Options(cancellationToken)).ResponseAsync.ConfigureAwait(false);
        return response.Kvs.Count > 0;
    }

    private CallOptions Options(CancellationToken cancellationToken) => new(deadline: DateTime.UtcNow + _timeout, cancellationToken: cancellationToken);
}
