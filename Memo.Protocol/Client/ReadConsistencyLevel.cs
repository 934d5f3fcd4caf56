namespace Memo.Protocol.Client;

/// <summary>
/// How one Fetch is served, sent as the <see cref="ReadConsistencyLevels.HeaderName"/> request header (a node without the header uses its
/// own default, <c>memo.kvs.read-consistency</c>).
/// </summary>
public enum ReadConsistencyLevel
{
    /// <summary>The shard's leader confirms its leadership first: the read sees every write acknowledged before it began.</summary>
    Linearizable = 0,

    /// <summary>Any replica of the key's shard answers from its own copy: faster, served while the shard has no leader,
    /// and may miss recent writes.</summary>
    Stale = 1,
}

/// <summary>The wire form of <see cref="ReadConsistencyLevel"/>.</summary>
public static class ReadConsistencyLevels
{
    /// <summary>The gRPC request header a node reads the level from (lower case, as metadata keys are).</summary>
    public const string HeaderName = "memo-read-consistency";

    /// <summary>The header value of <paramref name="level"/>.</summary>
    public static string HeaderValue(this ReadConsistencyLevel level) => level switch
    {
        ReadConsistencyLevel.Linearizable => "linearizable",
        ReadConsistencyLevel.Stale => "stale",
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "Not a read consistency level."),
    };
}
