namespace Memo.Node.Shards.Forwarding;

/// <summary>Limits of a node's <see cref="ShardForwarder"/>.</summary>
public sealed record ShardForwarderOptions
{
    /// <summary>Forwarded proposals and reads this node serves at once for all its peers; a request beyond it is
    /// answered DROPPED at once (nothing done; the caller retries after a back-off). Status requests are not counted
    /// (answered synchronously).</summary>
    public int MaxServedConcurrently { get; init; } = 1024;

    /// <summary>Longest a served request runs when its caller asked for longer (or said nothing).</summary>
    public TimeSpan MaxServeTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest envelope sent either way: the peer transport's <c>MaxMessageBytes</c>. A larger request is
    /// <see cref="ForwardedCallFate.TooLarge"/>; a larger answer is replaced by an INVALID one that says so.</summary>
    public int MaxMessageBytes { get; init; } = 4 << 20;

    /// <summary>Most bytes of block copies arriving in parts (<see cref="CopyPartAssembler"/>) held at once for all
    /// peers; a transfer that would go beyond it is dropped (its sender retries). Default 64 MiB.</summary>
    public long MaxAssemblingCopyBytes { get; init; } = 64L << 20;

    /// <summary>How long a copy arriving in parts may wait for its next part before a new transfer evicts it (its sender
    /// stopped waiting for the answer well before). Default 10 s.</summary>
    public TimeSpan CopyPartIdleLimit { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Every problem with these options; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxServedConcurrently is < 1 or > 1_000_000)
        {
            problems.Add($"{nameof(MaxServedConcurrently)} is between 1 and 1000000, not {MaxServedConcurrently}");
        }
        if (MaxServeTime < TimeSpan.FromMilliseconds(1) || MaxServeTime > TimeSpan.FromHours(1))
        {
            problems.Add($"{nameof(MaxServeTime)} is between 1 ms and 1 hour, not {MaxServeTime}");
        }
        if (MaxMessageBytes < 1024)
        {
            problems.Add($"{nameof(MaxMessageBytes)} is at least 1 KiB, not {MaxMessageBytes}");
        }
        if (MaxAssemblingCopyBytes < MaxMessageBytes)
        {
            problems.Add($"{nameof(MaxAssemblingCopyBytes)} holds at least one copy of {nameof(MaxMessageBytes)} ({MaxMessageBytes}), not {MaxAssemblingCopyBytes}");
        }
        if (CopyPartIdleLimit < TimeSpan.FromMilliseconds(1) || CopyPartIdleLimit > TimeSpan.FromHours(1))
        {
            problems.Add($"{nameof(CopyPartIdleLimit)} is between 1 ms and 1 hour, not {CopyPartIdleLimit}");
        }
        return problems;
    }
}
