namespace Memo.Node.Configuration;

/// <summary>When a key-value write is acknowledged: the node's default (<c>memo.kvs.write-consistency</c>), or one
/// write's choice (the <c>memo-write-consistency</c> request header, <see cref="WriteConsistencyHeader"/>).</summary>
public enum WriteConsistency
{
    /// <summary>Once the write is committed: durable on a majority of the key shard's replicas and applied.</summary>
    Majority = 0,

    /// <summary>Once the key shard's leader holds the write durably in its log, before a majority does; replication
    /// continues behind the answer. A write acknowledged by a leader that dies before a majority holds it can be lost.
    /// Applies to Upsert (an unconditional write): Insert, Update and Delete answer with the stored entry's verdict, which
    /// only the commit gives, so they are acknowledged at the commit whatever the level.</summary>
    Async = 1,
}

/// <summary>The gRPC request header that sets one write's <see cref="WriteConsistency"/>.</summary>
public static class WriteConsistencyHeader
{
    /// <summary>The header's name (lower case, as gRPC metadata keys are).</summary>
    public const string Name = Memo.Protocol.Client.WriteConsistencyLevels.HeaderName;

    /// <summary>The level a header value names (<c>majority</c> or <c>async</c>, any case, surrounding spaces ignored);
    /// null with <paramref name="problem"/> set when it names none.</summary>
    public static WriteConsistency? Parse(string value, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(value);
        problem = null;
        switch (value.Trim().ToLowerInvariant())
        {
            case "majority":
                return WriteConsistency.Majority;
            case "async":
                return WriteConsistency.Async;
            default:
                problem = $"The {Name} header is 'majority' or 'async', not '{value}'.";
                return null;
        }
    }
}
