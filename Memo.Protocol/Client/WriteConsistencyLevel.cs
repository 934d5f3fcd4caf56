namespace Memo.Protocol.Client;

/// <summary>
/// When a node acknowledges one key-value write, sent as the <see cref="WriteConsistencyLevels.HeaderName"/> request header (a
/// node without the header uses its own default, <c>memo.kvs.write-consistency</c>).
/// </summary>
public enum WriteConsistencyLevel
{
    /// <summary>Once a majority of the key shard's replicas hold the write durably: an acknowledged write survives the loss
    /// of any minority of them.</summary>
    Majority = 0,

    /// <summary>Once the key shard's leader holds the write durably, before a majority does (Upsert only; other writes
    /// are acknowledged at the majority): faster, and lost if that leader dies before replicating it. A linearizable read
    /// right after it may not see it until it is committed.</summary>
    Async = 1,
}

/// <summary>The wire form of <see cref="WriteConsistencyLevel"/>.</summary>
public static class WriteConsistencyLevels
{
    /// <summary>The gRPC request header a node reads the level from (lower case, as metadata keys are).</summary>
    public const string HeaderName = "memo-write-consistency";

    /// <summary>The header value of <paramref name="level"/>.</summary>
    public static string HeaderValue(this WriteConsistencyLevel level) => level switch
    {
        WriteConsistencyLevel.Majority => "majority",
        WriteConsistencyLevel.Async => "async",
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "Not a write consistency level."),
    };
}
