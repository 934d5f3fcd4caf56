using Memo.Protocol.Blocks;

namespace Memo.Node.Shards;

/// <summary>The one stored record a shard command reads and writes: a block (by address) or a key-value entry (by key).</summary>
public readonly record struct ShardRecordKey(BlockAddress Address, string? Key)
{
    /// <summary>True for a key-value entry, false for a block.</summary>
    public bool IsEntry => Key is not null;

    /// <summary>A block record.</summary>
    public static ShardRecordKey ForBlock(BlockAddress address) => new(address, null);

    /// <summary>A key-value entry record.</summary>
    public static ShardRecordKey ForEntry(string key) => new(default, key);
}
