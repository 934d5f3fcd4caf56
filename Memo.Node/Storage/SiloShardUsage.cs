namespace Memo.Node.Storage;

/// <summary>
/// What one shard holds in a node's silo, counted in rows and in bytes of keys and values (SQLite's page and index
/// overhead not included): its key entries, its Raft-state blocks, the block copies written straight to its replica
/// set, and its uncompacted Raft log. <c>memo cluster shards</c> shows it, so an operator sees which shard is big.
/// </summary>
/// <param name="Entries">Key entries of the shard.</param>
/// <param name="EntryBytes">Their keys (UTF-8) and values.</param>
/// <param name="Blocks">Blocks in the shard's Raft state.</param>
/// <param name="BlockBytes">Their addresses and data.</param>
/// <param name="Copies">Block copies of the shard (the direct block path).</param>
/// <param name="CopyBytes">Their addresses and data.</param>
/// <param name="LogEntries">Raft log entries not yet compacted.</param>
/// <param name="LogBytes">Their payloads.</param>
public sealed record SiloShardUsage(
    long Entries,
    long EntryBytes,
    long Blocks,
    long BlockBytes,
    long Copies,
    long CopyBytes,
    long LogEntries,
    long LogBytes)
{
    /// <summary>Nothing stored.</summary>
    public static SiloShardUsage Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>Every byte counted above.</summary>
    public long TotalBytes => EntryBytes + BlockBytes + CopyBytes + LogBytes;
}
