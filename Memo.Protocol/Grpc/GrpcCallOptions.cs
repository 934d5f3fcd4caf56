namespace Memo.Protocol.Grpc;

/// <summary>
/// Per-call settings of a client call. When both <see cref="Deadline"/> and <see cref="Timeout"/> are set, the
/// earlier instant wins. The deadline is sent to the server as <c>grpc-timeout</c> and enforced locally too.
/// </summary>
public readonly record struct GrpcCallOptions
{
    /// <summary>The instant (UTC) the call must have finished by; null for none.</summary>
    public DateTime? Deadline { get; init; }

    /// <summary>How long the call may take from when it starts; null for none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Cancels the call; the server sees the cancellation (HTTP/2 RST_STREAM) and the client throws <see cref="GrpcStatusCode.Cancelled"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>
    /// Request metadata sent as HTTP/2 headers: lower-case ASCII names, not starting with <c>grpc-</c> or <c>:</c>;
    /// values of names ending in <c>-bin</c> must already be base64.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Headers { get; init; }

    /// <summary>Options with only a timeout.</summary>
    public static GrpcCallOptions WithTimeout(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        new() { Timeout = timeout, CancellationToken = cancellationToken };

    /// <summary>The effective deadline (UTC): the earlier of <see cref="Deadline"/> and now + <see cref="Timeout"/>.</summary>
    internal DateTime? EffectiveDeadline(DateTime utcNow)
    {
        DateTime? fromTimeout = null;
        if (Timeout is { } timeout)
        {
            fromTimeout = timeout >= DateTime.MaxValue - utcNow ? DateTime.MaxValue : utcNow + timeout;
        }
        if (Deadline is { } deadline)
        {
            var utc = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
            return fromTimeout is { } t && t < utc ? t : utc;
        }
        return fromTimeout;
    }
}
