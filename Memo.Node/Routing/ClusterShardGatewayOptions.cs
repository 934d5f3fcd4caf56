namespace Memo.Node.Routing;

/// <summary>Retry bounds of <see cref="ClusterShardGateway"/>.</summary>
public sealed record ClusterShardGatewayOptions
{
    /// <summary>Longest a proposal or read keeps retrying (leader changes, elections, an unreachable node) when the caller set no earlier deadline.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Longest one attempt of a read, a scan or a repeatable command waits for the answer of the node it was
    /// forwarded to before it tries again (the request or its answer may have been lost on the links). A fifth of
    /// <see cref="RequestTimeout"/> by default, so a lost message costs one of several tries.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Most attempts per request.</summary>
    public int MaxAttempts { get; init; } = 64;

    /// <summary>First back-off between attempts; doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Longest back-off between attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Answer entry reads from this node's replica of the shard when it has one, without ReadIndex (may be stale).</summary>
    public bool StaleReads { get; init; }

    /// <summary>Every problem with these options; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (RequestTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(RequestTimeout)} is positive, not {RequestTimeout}");
        }
        if (AttemptTimeout <= TimeSpan.Zero || AttemptTimeout > RequestTimeout)
        {
            problems.Add($"{nameof(AttemptTimeout)} is positive and at most {nameof(RequestTimeout)}, not {AttemptTimeout}");
        }
        if (MaxAttempts < 1)
        {
            problems.Add($"{nameof(MaxAttempts)} is at least 1, not {MaxAttempts}");
        }
        if (MinBackoff <= TimeSpan.Zero || MaxBackoff < MinBackoff)
        {
            problems.Add($"{nameof(MinBackoff)} is positive and at most {nameof(MaxBackoff)}");
        }
        return problems;
    }
}
