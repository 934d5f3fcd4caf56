namespace Memo.Node.Blocks.Copies;

/// <summary>Limits of the direct block path and of its anti-entropy (HOCON <c>memo.blocks</c>).</summary>
public sealed record BlockCopyOptions
{
    /// <summary>How long one copy sent to a replica waits for its durable acknowledgement before the writer sends it again
    /// (to the replica set it then sees).</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a write waits in all for a quorum of durable copies before it fails (nothing points at the block then).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often each node compares its copies with the other replicas of their shards (0 turns anti-entropy off).</summary>
    public TimeSpan AntiEntropyInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many addresses one comparison covers (one list call per other replica).</summary>
    public int AntiEntropyPageSize { get; init; } = 512;

    /// <summary>The rate limit: at most this many copies sent or dropped per pass, across all shards.</summary>
    public int AntiEntropyMaxCopiesPerPass { get; init; } = 256;

    /// <summary>How long a node remembers a block removed through its shard, refusing stale copies of it meanwhile.</summary>
    public TimeSpan RemovalMemory { get; init; } = TimeSpan.FromDays(7);

    /// <summary>The problems with these options; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (AttemptTimeout <= TimeSpan.Zero)
        {
            problems.Add("memo.blocks.attempt-timeout must be positive.");
        }
        if (RequestTimeout < AttemptTimeout)
        {
            problems.Add("memo.blocks.request-timeout must be at least memo.blocks.attempt-timeout.");
        }
        if (AntiEntropyInterval < TimeSpan.Zero)
        {
            problems.Add("memo.blocks.anti-entropy-interval cannot be negative.");
        }
        if (AntiEntropyPageSize is < 1 or > 10_000)
        {
            problems.Add("memo.blocks.anti-entropy-page-size must be between 1 and 10000.");
        }
        if (AntiEntropyMaxCopiesPerPass < 1)
        {
            problems.Add("memo.blocks.anti-entropy-max-copies must be at least 1.");
        }
        return problems;
    }
}
