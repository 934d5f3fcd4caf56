using Google.Protobuf;
using Memo.Cli.Bench.Etcd;
using Memo.Protocol.Grpc;

namespace Memo.Cli.Bench;

/// <summary>
/// An etcd member's v3 KV API over the same <see cref="GrpcChannel"/> as the Memo target: puts are <c>Put</c>,
/// gets are single-key <c>Range</c> requests with <c>serializable = false</c> (etcd's linearizable default).
/// </summary>
internal sealed class EtcdKvTarget : IKvBenchTarget
{
    private readonly GrpcChannel _channel;
    private readonly TimeSpan _timeout;
    private readonly ByteString[] _keys;
    private readonly ByteString _value;

    public EtcdKvTarget(GrpcChannel channel, TimeSpan timeout, int keys, byte[] value)
    {
        _channel = channel;
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
        _channel.UnaryAsync(EtcdKvMethods.Put, new PutRequest { Key = _keys[key], Value = _value }, Options(cancellationToken));

    /// <inheritdoc />
    public async Task<bool> GetAsync(int key, CancellationToken cancellationToken)
    {
        var response = await _channel.UnaryAsync(EtcdKvMethods.Range, new RangeRequest { Key = _keys[key], Serializable = false }, Options(cancellationToken)).ConfigureAwait(false);
        return response.Kvs.Count > 0;
    }

    private GrpcCallOptions Options(CancellationToken cancellationToken) => new() { Timeout = _timeout, CancellationToken = cancellationToken };
}
