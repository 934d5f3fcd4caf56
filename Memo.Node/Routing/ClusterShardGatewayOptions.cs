namespace Memo.Node.Routing;

/// <summary>Retry bounds of <see cref="ClusterShardGateway"/>.</summary>
public sealed record ClusterShardGatewayOptions
{
    /// <summary>Longest a proposal or read keeps retrying (leader changes, elections, an unreachable node) when the caller set no earlier deadline.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Most attempts per request.</summary>
    public int MaxAttempts { get; init; } = 64;

    /// <summary>First back-off between attempts; doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Longest back-off between attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Answer entry reads from this node's replica of the shard when it has one, without ReadIndex (may be stale).</summary>
    public bool StaleReads { get; init; }
}
