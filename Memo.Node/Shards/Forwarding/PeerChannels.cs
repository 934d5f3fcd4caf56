using System.Collections.Concurrent;
using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Client;

namespace Memo.Node.Shards.Forwarding;

/// <summary>
/// One cached Grpc.Net.Client channel per peer address for node-internal unary calls (forwarded proposals and reads,
/// replica status). A channel multiplexes calls over one HTTP/2 connection and reconnects by itself.
/// </summary>
public sealed class PeerChannels : IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _channels = new(StringComparer.Ordinal);
    private readonly int _maxChannels;
    private readonly int _maxMessageBytes;
    private int _disposed;

    /// <summary>Creates an empty cache holding at most <paramref name="maxChannels"/> channels.</summary>
    /// <param name="maxMessageBytes">Largest message sent or received: a forwarded proposal carries a whole value, so
    /// this follows the node's own gRPC limits (Grpc.Net.Client's 4 MiB default would refuse large values).</param>
    /// <param name="maxChannels">Most cached channels; addresses of departed members accumulate otherwise.</param>
    public PeerChannels(int maxMessageBytes = 16 * 1024 * 1024, int maxChannels = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 1024);
        _maxMessageBytes = maxMessageBytes;
        _maxChannels = maxChannels;
    }

    /// <summary>The <c>memo.shard.ShardService</c> client for <paramref name="address"/> (host:port).</summary>
    public ShardService.ShardServiceClient Get(string address)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        if (_channels.TryGetValue(address, out var entry))
        {
            return entry.Client;
        }
        if (_channels.Count >= _maxChannels)
        {
            // Addresses of departed members accumulate only in a long-lived node with much churn: start over.
            Clear();
        }
        var created = Create(address);
        var stored = _channels.GetOrAdd(address, created);
        if (!ReferenceEquals(stored, created))
        {
            created.Channel.Dispose();
        }
        return stored.Client;
    }

    /// <summary>
    /// True when a failed call certainly never reached the peer's handler (the connection could not be made), so a
    /// non-idempotent request may be retried elsewhere.
    /// </summary>
    public static bool NotSent(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.StatusCode == StatusCode.Unavailable
            && (exception.Status.DebugException ?? exception.InnerException) is HttpRequestException
            {
                HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError,
            };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Clear();
        }
    }

    private Entry Create(string address)
    {
        var channel = MemoChannel.Create(address, new MemoChannelOptions
        {
            MaxReceiveMessageSize = _maxMessageBytes,
            MaxSendMessageSize = _maxMessageBytes,
        });
        return new Entry(channel, new ShardService.ShardServiceClient(channel));
    }

    private void Clear()
    {
        foreach (var address in _channels.Keys)
        {
            if (_channels.TryRemove(address, out var entry))
            {
                entry.Channel.Dispose();
            }
        }
    }

    private sealed record Entry(GrpcChannel Channel, ShardService.ShardServiceClient Client);
}
