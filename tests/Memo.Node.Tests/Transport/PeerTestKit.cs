using System.Text;
using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>Awaiting helpers for transport tests: every wait has a deadline and a message that says what was expected.</summary>
public static class PeerTestKit
{
    /// <summary>Generous: the machine is shared, and a wait that passes never costs this much.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const string ProbePrefix = "probe:";

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(ReadOnlyMemory<byte> body) => Encoding.UTF8.GetString(body.Span);

    public static string Text(InboundPeerMessage message) => Text(message.Message.Body);

    /// <summary>The next message at <paramref name="at"/> that is not a readiness probe.</summary>
    public static async Task<InboundPeerMessage> ReceiveAsync(TestPeer at, string expectation, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Patience;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            while (true)
            {
                var message = await at.Transport.Inbound.ReadAsync(cts.Token);
                if (!IsProbe(message))
                {
                    return message;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"Timed out after {limit}: {at} expected to receive {expectation}. Its links: {Describe(at.Transport)}");
            throw;
        }
    }

    /// <summary>Exactly the next <paramref name="count"/> non-probe messages at <paramref name="at"/>.</summary>
    public static async Task<List<InboundPeerMessage>> ReceiveManyAsync(TestPeer at, int count, string expectation, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Patience;
        var received = new List<InboundPeerMessage>(count);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            while (received.Count < count)
            {
                var message = await at.Transport.Inbound.ReadAsync(cts.Token);
                if (!IsProbe(message))
                {
                    received.Add(message);
                }
            }
            return received;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"Timed out after {limit}: {at} expected {count} messages ({expectation}) but got {received.Count}. Its links: {Describe(at.Transport)}");
            throw;
        }
    }

    /// <summary>
    /// Sends probes from <paramref name="from"/> to <paramref name="to"/> until one arrives: the way to wait
    /// for a link that may first have to reconnect. The wait between probes is a bounded read of the
    /// receiver's inbound channel, so the loop ends as soon as a probe is in.
    /// </summary>
    public static async Task SendUntilReceivedAsync(TestPeer from, TestPeer to, string phase)
    {
        using var cts = new CancellationTokenSource(Patience);
        int sent = 0;
        while (!cts.IsCancellationRequested)
        {
            from.Send(to, PeerMessage.Forwarding(Bytes(ProbePrefix + sent++)));
            using var round = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            round.CancelAfter(TimeSpan.FromMilliseconds(100));
            try
            {
                while (true)
                {
                    var message = await to.Transport.Inbound.ReadAsync(round.Token);
                    if (message.From == from.Node && IsProbe(message))
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (round.IsCancellationRequested)
            {
            }
        }
        Assert.Fail($"{phase}: after {sent} probes over {Patience}, {to} received none from {from}. Sender's link: {from.StatsFor(to)}");
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds. Only for link statistics, which have no change
    /// notification: polls every 10 ms up to the deadline.
    /// </summary>
    public static async Task EventuallyAsync(Func<bool> condition, Func<string> expectation, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Patience;
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {limit} waiting for {expectation()}");
            }
            await Task.Delay(10);
        }
    }

    public static string Describe(IPeerTransport transport) =>
        string.Join("; ", transport.GetLinkStats().Select(static s => s.ToString()));

    private static bool IsProbe(InboundPeerMessage message) =>
        message.Message.Channel == PeerChannelKind.Forwarding && Text(message.Message.Body).StartsWith(ProbePrefix, StringComparison.Ordinal);
}
