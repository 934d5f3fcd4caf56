using System.Threading.Channels;

namespace Memo.Node.Transport;

/// <summary>
/// One peer's outbound queue: bounded by message count and by body bytes, many writers that never wait
/// (a full queue refuses), one reader (the link's loop) that drains it in batches.
/// </summary>
internal sealed class PeerSendQueue
{
    private readonly Channel<PeerMessage> _channel;
    private readonly long _maxBytes;
    private long _bytes;

    public PeerSendQueue(int capacity, long maxBytes)
    {
        _maxBytes = maxBytes;
        _channel = Channel.CreateBounded<PeerMessage>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            // With Wait, TryWrite fails on a full queue instead of evicting: the newest message is the one dropped.
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public int Count => _channel.Reader.Count;

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Queues the message unless the queue is at a limit or completed; false means it was not taken.</summary>
    public bool TryEnqueue(PeerMessage message)
    {
        int size = message.Body.Length;
        if (Interlocked.Add(ref _bytes, size) > _maxBytes)
        {
            Interlocked.Add(ref _bytes, -size);
            return false;
        }
        if (!_channel.Writer.TryWrite(message))
        {
            Interlocked.Add(ref _bytes, -size);
            return false;
        }
        return true;
    }

    /// <summary>Waits until a message is queued; false once the queue is completed and empty.</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) =>
        _channel.Reader.WaitToReadAsync(cancellationToken);

    public bool TryDequeue(out PeerMessage message)
    {
        if (_channel.Reader.TryRead(out message))
        {
            Interlocked.Add(ref _bytes, -message.Body.Length);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Moves queued messages into <paramref name="batch"/>: at least one if any is queued, then more while the
    /// batch stays within <paramref name="maxMessages"/> and <paramref name="maxBytes"/> of body. This is where
    /// heartbeats of many shards to one peer coalesce: whatever is queued when the loop turns travels together.
    /// </summary>
    /// <returns>The body bytes taken.</returns>
    public long DrainInto(List<PeerMessage> batch, int maxMessages, long maxBytes)
    {
        long bytes = 0;
        var reader = _channel.Reader;
        while (batch.Count < maxMessages && reader.TryPeek(out var next))
        {
            if (batch.Count > 0 && bytes + next.Body.Length > maxBytes)
            {
                break;
            }
            if (!TryDequeue(out var message))
            {
                break;
            }
            batch.Add(message);
            bytes += message.Body.Length;
        }
        return bytes;
    }

    /// <summary>Empties the queue; returns how many messages were discarded.</summary>
    public int Clear()
    {
        int count = 0;
        while (TryDequeue(out _))
        {
            count++;
        }
        return count;
    }

    /// <summary>Refuses further messages; the reader sees the end once the queue is empty.</summary>
    public void Complete() => _channel.Writer.TryComplete();
}
