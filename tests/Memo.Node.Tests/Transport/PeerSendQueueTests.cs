using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>The per-peer queue: its two limits, and how a drain builds one batch.</summary>
public sealed class PeerSendQueueTests
{
    [Fact]
    public void A_drain_takes_everything_queued_up_to_the_message_limit()
    {
        var queue = Filled(10, bodySize: 10);
        var batch = new List<PeerMessage>();

        Assert.Equal(40, queue.DrainInto(batch, maxMessages: 4, maxBytes: 1000));
        Assert.Equal([0, 1, 2, 3], batch.Select(First));
        batch.Clear();
        queue.DrainInto(batch, maxMessages: 100, maxBytes: 1000);
        Assert.Equal([4, 5, 6, 7, 8, 9], batch.Select(First));
        Assert.Equal(0, queue.Count);
        Assert.Equal(0, queue.Bytes);
    }

    [Fact]
    public void A_drain_stops_before_the_message_that_would_pass_the_byte_limit()
    {
        var queue = Filled(5, bodySize: 10);
        var batch = new List<PeerMessage>();

        Assert.Equal(20, queue.DrainInto(batch, maxMessages: 100, maxBytes: 29));
        Assert.Equal([0, 1], batch.Select(First));
        Assert.Equal(3, queue.Count);
        Assert.Equal(30, queue.Bytes);
    }

    [Fact]
    public void A_message_larger_than_the_byte_limit_travels_alone()
    {
        var queue = new PeerSendQueue(capacity: 10, maxBytes: 10_000);
        queue.TryEnqueue(PeerMessage.Forwarding(new byte[500]));
        queue.TryEnqueue(PeerMessage.Forwarding(new byte[1]));
        var batch = new List<PeerMessage>();

        queue.DrainInto(batch, maxMessages: 10, maxBytes: 100);

        Assert.Equal(500, Assert.Single(batch).Body.Length);
    }

    [Fact]
    public void The_queue_refuses_messages_past_its_count_or_byte_limit()
    {
        var byCount = new PeerSendQueue(capacity: 2, maxBytes: 1000);
        Assert.True(byCount.TryEnqueue(PeerMessage.Forwarding(new byte[1])));
        Assert.True(byCount.TryEnqueue(PeerMessage.Forwarding(new byte[1])));
        Assert.False(byCount.TryEnqueue(PeerMessage.Forwarding(new byte[1])));
        Assert.Equal(2, byCount.Bytes);

        var byBytes = new PeerSendQueue(capacity: 100, maxBytes: 100);
        Assert.True(byBytes.TryEnqueue(PeerMessage.Forwarding(new byte[60])));
        Assert.False(byBytes.TryEnqueue(PeerMessage.Forwarding(new byte[41])));
        Assert.True(byBytes.TryEnqueue(PeerMessage.Forwarding(new byte[40])));
        Assert.Equal(100, byBytes.Bytes);
        Assert.Equal(2, byBytes.Clear());
        Assert.Equal(0, byBytes.Bytes);
    }

    [Fact]
    public void A_completed_queue_refuses_messages()
    {
        var queue = new PeerSendQueue(capacity: 10, maxBytes: 1000);
        queue.Complete();

        Assert.False(queue.TryEnqueue(PeerMessage.Forwarding(new byte[1])));
        Assert.Equal(0, queue.Bytes);
    }

    private static PeerSendQueue Filled(int count, int bodySize)
    {
        var queue = new PeerSendQueue(capacity: 100, maxBytes: 100_000);
        for (int i = 0; i < count; i++)
        {
            var body = new byte[bodySize];
            body[0] = (byte)i;
            Assert.True(queue.TryEnqueue(PeerMessage.Forwarding(body)));
        }
        return queue;
    }

    private static int First(PeerMessage message) => message.Body.Span[0];
}
