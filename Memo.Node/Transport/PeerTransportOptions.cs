namespace Memo.Node.Transport;

/// <summary>
/// Limits of a peer transport; <see cref="Validate"/> reports every problem at once. Both implementations
/// honour the queue, message and inbound limits.
/// </summary>
public sealed record PeerTransportOptions
{
    /// <summary>Envelope bytes a batch adds beyond its frames (format, sender, hello), rounded up generously.</summary>
    internal const int BatchOverheadBytes = 1024;

    /// <summary>Envelope bytes one frame adds beyond its body (tag, length, kind, shard), rounded up.</summary>
    internal const int FrameOverheadBytes = 32;

    /// <summary>Messages each peer's outbound queue holds; beyond it, <see cref="IPeerTransport.Send"/> drops. Default 4096.</summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>Body bytes each peer's outbound queue holds; beyond it, <see cref="IPeerTransport.Send"/> drops. Default 64 MiB.</summary>
    public long MaxQueuedBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Most messages coalesced into one batch. Default 1024.</summary>
    public int MaxBatchMessages { get; init; } = 1024;

    /// <summary>
    /// Whether a send on a connected, idle link leaves on the caller's thread (one batch, told at once) rather than by
    /// waking the link's actor; see <see cref="AkkaPeerLink"/>. The Akka transport only. Off by default until a
    /// suspicion is cleared: with it on, three fresh-clone CI runs each failed one different node-to-node test (a
    /// forwarded call unanswered within its deadline) that passed alone and under CPU burners.
    /// </summary>
    public bool InlineFlush { get; init; }

    /// <summary>
    /// Whether a busy link (one whose flushes drain more than one message) lets the work already queued on the thread
    /// pool run before it drains its queue, so that one batch carries the messages of many shards' turns; see
    /// <see cref="AkkaPeerLink"/>. The Akka transport only. Default on: on three nodes at 64 callers it took batches
    /// from 1.4 to 13–25 messages and the servers' CPU per put down by 5–18% (docs/performance.md).
    /// </summary>
    public bool CoalesceBusyLinks { get; init; } = true;

    /// <summary>
    /// How long after a flush that drained more than one message a link counts as busy (inline sends pause, wakes
    /// coalesce). 200 ms; tests lengthen it so that no pause of the machine ends it.
    /// </summary>
    internal TimeSpan BusyWindow { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Body bytes a batch grows to before it is written. A batch always takes at least one message, so a
    /// single larger message travels alone. Default 64 KiB: a batch up to that size, and every array Akka.Remote
    /// makes of it on either side, stays under .NET's 85,000-byte large-object threshold (block copies travel in
    /// parts of 60 KiB for the same reason, ShardForwarder.CopyPartBytes); 1 MiB batches of copies were
    /// large-object-heap arrays at every layer, churned by gen-2 collections. Small messages still coalesce by the
    /// hundred (a Raft append of a 256-byte put is about 400 bytes).
    /// </summary>
    public int MaxBatchBytes { get; init; } = 64 * 1024;

    /// <summary>Largest message body; larger ones are a caller bug (<see cref="IPeerTransport.Send"/> throws), and frames over it are dropped on receipt. Default 4 MiB.</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Received messages waiting for the consumer of <see cref="IPeerTransport.Inbound"/>. Default 8192.</summary>
    public int InboundCapacity { get; init; } = 8192;

    /// <summary>Most peers tracked (sent to or heard from); messages to more are dropped and logged. Default 1024.</summary>
    public int MaxPeers { get; init; } = 1024;

    /// <summary>Wait after the first failed connection attempt; it doubles per further failure. Default 100 ms.</summary>
    public TimeSpan ReconnectBackoffMin { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between connection attempts. Default 5 s.</summary>
    public TimeSpan ReconnectBackoffMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest a connection attempt (the hello exchange over a new association) may take. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The largest <c>PeerBatch</c> this transport writes, in bytes: what Akka.Remote's <c>maximum-frame-size</c> must
    /// hold (with its envelope allowance), see <c>AkkaPeerTransport.CreateConfig</c>.
    /// </summary>
    public int MaxBatchWireBytes =>
        (int)Math.Min(int.MaxValue,
            Math.Max(
                (long)MaxBatchBytes + (long)MaxBatchMessages * FrameOverheadBytes,
                (long)MaxMessageBytes + FrameOverheadBytes)
            + BatchOverheadBytes);

    /// <summary>The wait before the next connection attempt after <paramref name="failures"/> failures in a row (at least
    /// one): <see cref="ReconnectBackoffMin"/> doubled per further failure up to <see cref="ReconnectBackoffMax"/>, times
    /// <paramref name="jitter"/> (in [0.5, 1), so that peers that failed together do not retry together).</summary>
    internal TimeSpan ReconnectBackoff(int failures, double jitter)
    {
        double ms = ReconnectBackoffMin.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        ms = Math.Min(ms, ReconnectBackoffMax.TotalMilliseconds) * jitter;
        return TimeSpan.FromMilliseconds(Math.Max(1, ms));
    }

    /// <summary>Returns every problem with these options (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Positive(errors, nameof(QueueCapacity), QueueCapacity);
        Positive(errors, nameof(MaxQueuedBytes), MaxQueuedBytes);
        Positive(errors, nameof(MaxBatchMessages), MaxBatchMessages);
        Positive(errors, nameof(MaxBatchBytes), MaxBatchBytes);
        Positive(errors, nameof(MaxMessageBytes), MaxMessageBytes);
        Positive(errors, nameof(InboundCapacity), InboundCapacity);
        Positive(errors, nameof(MaxPeers), MaxPeers);
        if (MaxMessageBytes > 0 && MaxQueuedBytes > 0 && MaxMessageBytes > MaxQueuedBytes)
        {
            errors.Add($"{nameof(MaxMessageBytes)} ({MaxMessageBytes}) cannot exceed {nameof(MaxQueuedBytes)} ({MaxQueuedBytes}): such a message could never be queued.");
        }
        // A batch must fit a gRPC message (int length) with room for the envelope.
        if ((long)MaxMessageBytes + FrameOverheadBytes + BatchOverheadBytes > int.MaxValue
            || (long)MaxBatchBytes + (long)Math.Max(0, MaxBatchMessages) * FrameOverheadBytes + BatchOverheadBytes > int.MaxValue)
        {
            errors.Add($"{nameof(MaxMessageBytes)} and {nameof(MaxBatchBytes)} must leave a batch under 2 GiB.");
        }
        PositiveTime(errors, nameof(ReconnectBackoffMin), ReconnectBackoffMin);
        PositiveTime(errors, nameof(ReconnectBackoffMax), ReconnectBackoffMax);
        if (ReconnectBackoffMax < ReconnectBackoffMin)
        {
            errors.Add($"{nameof(ReconnectBackoffMax)} ({ReconnectBackoffMax}) cannot be less than {nameof(ReconnectBackoffMin)} ({ReconnectBackoffMin}).");
        }
        PositiveTime(errors, nameof(ConnectTimeout), ConnectTimeout);
        return errors;
    }

    /// <summary>Throws when <see cref="Validate"/> finds problems.</summary>
    /// <exception cref="ArgumentException">Every problem, in one message.</exception>
    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid peer transport options: " + string.Join(" ", errors));
        }
    }

    private static void Positive(List<string> errors, string name, long value)
    {
        if (value <= 0)
        {
            errors.Add($"{name} must be positive, not {value}.");
        }
    }

    private static void PositiveTime(List<string> errors, string name, TimeSpan value)
    {
        // Timers take at most ~49 days; anything near that is a typo, not a policy.
        if (value <= TimeSpan.Zero || value > TimeSpan.FromDays(1))
        {
            errors.Add($"{name} must be positive and at most one day, not {value}.");
        }
    }
}
