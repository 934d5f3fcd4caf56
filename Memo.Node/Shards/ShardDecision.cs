namespace Memo.Node.Shards;

/// <summary>
/// The effect of one command on its record: the result to report and the record's new stored bytes.
/// <see cref="Changed"/> false leaves the record as it was; <see cref="NewValue"/> null with
/// <see cref="Changed"/> true deletes it. <see cref="Also"/> lists further records of the same shard the command
/// writes in the same apply (a mutable block's kept older versions, <see cref="Blocks.BlockVersions"/>); null for
/// none, which is every command while one version is kept.
/// </summary>
public readonly record struct ShardDecision(ShardResult Result, bool Changed, byte[]? NewValue, IReadOnlyList<ShardRecordWrite>? Also = null)
{
    /// <summary>A decision that leaves the record untouched.</summary>
    public static ShardDecision Unchanged(ShardResult result) => new(result, false, null);

    /// <summary>A decision that stores <paramref name="value"/>.</summary>
    public static ShardDecision Put(ShardResult result, byte[] value) => new(result, true, value);

    /// <summary>A decision that deletes the record.</summary>
    public static ShardDecision Delete(ShardResult result) => new(result, true, null);
}
