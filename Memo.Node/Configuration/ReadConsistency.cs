namespace Memo.Node.Configuration;

/// <summary>How key-value reads are served: the node's default (<c>memo.kvs.read-consistency</c>), or one Fetch's
/// choice (the <c>memo-read-consistency</c> request header, <see cref="ReadConsistencyHeader"/>).</summary>
public enum ReadConsistency
{
    /// <summary>Every Fetch confirms the shard leader's leadership (Raft ReadIndex) first: never stale.</summary>
    Linearizable = 0,

    /// <summary>Any replica of the key's shard answers from its own copy, which may lag the leader: this node's when it
    /// holds one, else the first replica that answers. Served while the shard has no leader.</summary>
    Stale = 1,
}

/// <summary>The gRPC request header that sets one read's <see cref="ReadConsistency"/>.</summary>
public static class ReadConsistencyHeader
{
    /// <summary>The header's name (lower case, as gRPC metadata keys are).</summary>
    public const string Name = Memo.Protocol.Client.ReadConsistencyLevels.HeaderName;

    /// <summary>The level a header value names (<c>linearizable</c> or <c>stale</c>, any case, surrounding spaces
    /// ignored); null with <paramref name="problem"/> set when it names none.</summary>
    public static ReadConsistency? Parse(string value, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(value);
        problem = null;
        switch (value.Trim().ToLowerInvariant())
        {
            case "linearizable":
                return ReadConsistency.Linearizable;
            case "stale":
                return ReadConsistency.Stale;
            default:
                problem = $"The {Name} header is 'linearizable' or 'stale', not '{value}'.";
                return null;
        }
    }
}
