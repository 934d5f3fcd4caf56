namespace Memo.Node.Shards;

/// <summary>A write of one more record a command makes beside its target (<see cref="ShardDecision.Also"/>): the
/// record's new bytes, or null to delete it.</summary>
public readonly record struct ShardRecordWrite(ShardRecordKey Key, byte[]? Value);
