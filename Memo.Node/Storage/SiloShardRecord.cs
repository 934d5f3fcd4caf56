using Memo.Protocol.Blocks;

namespace Memo.Node.Storage;

/// <summary>
/// One stored record of a shard as <see cref="ISilo.ScanShardAsync"/> returns it: a block (<see cref="Block"/> set)
/// or a key-value entry (<see cref="Key"/> set), with its stored bytes.
/// </summary>
public sealed record SiloShardRecord(BlockAddress? Block, string? Key, byte[] Value)
{
    /// <summary>Where this record sits in the scan order, to continue a scan after it.</summary>
    public SiloShardPosition Position => new(Block, Key);
}

/// <summary>
/// A position in a shard scan: blocks come first in address (byte) order, then entries in ordinal key order.
/// Exactly one of <see cref="Block"/> and <see cref="Key"/> is set.
/// </summary>
public readonly record struct SiloShardPosition(BlockAddress? Block, string? Key);
