using System.Collections.Concurrent;
using System.Net.Http;
using Memo.Protocol.Grpc;

namespace Memo.Node.Shards.Forwarding;

/// <summary>
/// One cached gRPC channel per peer address for node-internal unary calls (forwarded proposals and reads, replica
/// status). Channels multiplex calls over one HTTP/2 connection and reconnect by themselves.
/// </summary>
public sealed class PeerChannels : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly int _maxChannels;
    private int _disposed;

    /// <summary>Creates an empty cache holding at most <paramref name="maxChannels"/> channels.</summary>
    public PeerChannels(int maxChannels = 1024) => _maxChannels = maxChannels;

    /// <summary>The channel to <paramref name="address"/> (host:port).</summary>
    public GrpcChannel Get(string address)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        if (_channels.TryGetValue(address, out var channel))
        {
            return channel;
        }
        if (_channels.Count >= _maxChannels)
        {
            // Addresses of departed members accumulate only in a long-lived node with much churn: start over.
            Clear();
        }
        var created = new GrpcChannel(address);
        var stored = _channels.GetOrAdd(address, created);
        if (!ReferenceEquals(stored, created))
        {
            created.Dispose();
        }
        return stored;
    }

    /// <summary>
    /// True when a failed call certainly never reached the peer's handler (the connection could not be made), so a
    /// non-idempotent request may be retried elsewhere.
    /// </summary>
    public static bool NotSent(GrpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.Status == GrpcStatusCode.Unavailable
            && exception.InnerException is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Clear();
        }
    }

    private void Clear()
    {
        foreach (var address in _channels.Keys)
        {
            if (_channels.TryRemove(address, out var channel))
            {
                channel.Dispose();
            }
        }
    }
}
