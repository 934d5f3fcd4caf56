using Memo.Protocol.Blocks;

namespace Memo.Node.Storage;

/// <summary>
/// A list of writes that <see cref="ISilo.CommitAsync"/> applies atomically, in order. Not thread-safe:
/// one owner builds it, then hands it over.
/// </summary>
public sealed class SiloBatch
{
    private readonly List<SiloOperation> _operations = [];

    /// <summary>The writes, in the order they apply.</summary>
    public IReadOnlyList<SiloOperation> Operations => _operations;

    /// <summary>True when the batch holds no write.</summary>
    public bool IsEmpty => _operations.Count == 0;

    /// <summary>Approximate payload size, for batch limits.</summary>
    public long ApproximateBytes { get; private set; }

    /// <summary>
    /// Whether the batch may complete once committed and visible, before it is flushed to stable storage (see
    /// <see cref="DeferFlush"/>). False by default: the batch's task completes only when it survives power loss.
    /// </summary>
    public bool FlushDeferred { get; private set; }

    /// <summary>
    /// Lets the batch complete without waiting for a flush: it becomes durable with the next flushed commit. A power
    /// loss before that may lose it (and the deferred batches after it), never a batch committed before it; a process
    /// crash loses nothing that completed. For writes that can be rebuilt after such a loss, such as a Raft replica's
    /// applied state, which replays from its durable log.
    /// </summary>
    public SiloBatch DeferFlush()
    {
        FlushDeferred = true;
        return this;
    }

    /// <summary>Stores (or replaces) a block in a shard.</summary>
    public SiloBatch PutBlock(ShardId shard, BlockAddress address, byte[] data) => Add(new SiloOperation.PutBlock(shard, address, data), data.Length + 40);

    /// <summary>
    /// Stores (or replaces) a copy of an immutable block written straight to its replica set (outside the shard's Raft
    /// state: <see cref="ClearShard"/> and shard snapshots leave copies alone). <see cref="ISilo.ReadBlockAsync"/> finds it.
    /// </summary>
    public SiloBatch PutBlockCopy(ShardId shard, BlockAddress address, byte[] data) => Add(new SiloOperation.PutBlockCopy(shard, address, data), data.Length + 40);

    /// <summary>
    /// Stores (or replaces) this node's fragment <paramref name="index"/> of an erasure-coded immutable block
    /// (<see cref="Erasure"/>; <paramref name="data"/> is the encoded fragment record). A node holds at most one fragment
    /// of a block. Like copies, fragments live outside every shard's Raft state; <see cref="DeleteBlock"/> removes them.
    /// </summary>
    public SiloBatch PutBlockFragment(ShardId shard, BlockAddress address, int index, byte[] data) =>
        Add(new SiloOperation.PutBlockFragment(shard, address, index, data), data.Length + 44);

    /// <summary>Removes this node's fragment of a block; no effect when absent.</summary>
    public SiloBatch DeleteBlockFragment(BlockAddress address) => Add(new SiloOperation.DeleteBlockFragment(address), 40);

    /// <summary>Removes a block copy; no effect when absent.</summary>
    public SiloBatch DeleteBlockCopy(BlockAddress address) => Add(new SiloOperation.DeleteBlockCopy(address), 40);

    /// <summary>Forgets the removals (<see cref="DeleteBlock"/>) recorded before <paramref name="removedBefore"/>.</summary>
    public SiloBatch ForgetRemovedBlocks(DateTimeOffset removedBefore) => Add(new SiloOperation.ForgetRemovedBlocks(removedBefore), 16);

    /// <summary>Removes a block, whether stored through its shard, as a copy or as a fragment, and records that it was removed
    /// (<see cref="ISilo.IsBlockRemovedAsync"/>); no effect on the block when absent.</summary>
    public SiloBatch DeleteBlock(BlockAddress address) => Add(new SiloOperation.DeleteBlock(address), 40);

    /// <summary>Stores (or replaces) a key-value entry in a shard.</summary>
    public SiloBatch PutEntry(ShardId shard, string key, byte[] value) => Add(new SiloOperation.PutEntry(shard, key, value), key.Length + value.Length + 8);

    /// <summary>Removes a key-value entry; no effect when absent.</summary>
    public SiloBatch DeleteEntry(string key) => Add(new SiloOperation.DeleteEntry(key), key.Length + 8);

    /// <summary>Stores (or replaces) a named metadata value; a second value for the same name in the batch replaces the first.</summary>
    public SiloBatch PutMeta(string name, byte[] value)
    {
        var operation = new SiloOperation.PutMeta(name, value);
        return Replace(o => o is SiloOperation.PutMeta earlier && earlier.Name == name, operation, name.Length + value.Length)
            ? this
            : Add(operation, name.Length + value.Length);
    }

    /// <summary>Stores (or replaces) the Raft hard state of a shard; a second state for the shard in the batch replaces the first.</summary>
    public SiloBatch PutRaftState(ShardId shard, byte[] state)
    {
        var operation = new SiloOperation.PutRaftState(shard, state);
        return Replace(o => o is SiloOperation.PutRaftState earlier && earlier.Shard == shard, operation, state.Length + 8)
            ? this
            : Add(operation, state.Length + 8);
    }

    /// <summary>Appends (or overwrites) a Raft log entry of a shard.</summary>
    public SiloBatch AppendLog(ShardId shard, LogIndex index, Term term, byte[] data) => Add(new SiloOperation.AppendLog(shard, index, term, data), data.Length + 24);

    /// <summary>Removes the shard's log entries with index greater than <paramref name="lastKept"/> (a conflicting suffix).</summary>
    public SiloBatch TruncateLogAfter(ShardId shard, LogIndex lastKept) => Add(new SiloOperation.TruncateLogAfter(shard, lastKept), 16);

    /// <summary>Removes the shard's log entries with index up to and including <paramref name="through"/> (compaction after a snapshot).</summary>
    public SiloBatch CompactLogThrough(ShardId shard, LogIndex through) => Add(new SiloOperation.CompactLogThrough(shard, through), 16);

    /// <summary>Removes every block, entry, log entry and the Raft state of a shard (before installing a snapshot, or when a replica leaves).</summary>
    public SiloBatch ClearShard(ShardId shard) => Add(new SiloOperation.ClearShard(shard), 8);

    /// <summary>
    /// Adds <paramref name="other"/>'s writes after this batch's, in their order (the node turn loop commits many
    /// replicas' batches as one). Whether <paramref name="other"/> deferred its flush is not carried over: the caller
    /// decides for the whole batch.
    /// </summary>
    public SiloBatch Append(SiloBatch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        _operations.AddRange(other._operations);
        ApproximateBytes += other.ApproximateBytes;
        return this;
    }

    // The batch applies atomically, so of two writes of one record only the last one matters: a replica that stages two
    // Readies in one batch writes its hard state and applied index once. Not past a ClearShard, which must not
    // come to delete what was written after it.
    private bool Replace(Predicate<SiloOperation> sameRecord, SiloOperation operation, long bytes)
    {
        for (var i = _operations.Count - 1; i >= 0; i--)
        {
            var earlier = _operations[i];
            if (earlier is SiloOperation.ClearShard)
            {
                return false;
            }
            if (sameRecord(earlier))
            {
                _operations[i] = operation;
                ApproximateBytes += bytes - (earlier switch
                {
                    SiloOperation.PutMeta m => m.Name.Length + m.Value.Length,
                    SiloOperation.PutRaftState r => r.State.Length + 8,
                    _ => 0,
                });
                return true;
            }
        }
        return false;
    }

    private SiloBatch Add(SiloOperation operation, long bytes)
    {
        _operations.Add(operation);
        ApproximateBytes += bytes;
        return this;
    }
}

/// <summary>One write in a <see cref="SiloBatch"/>.</summary>
public abstract record SiloOperation
{
    private SiloOperation() { }

    /// <summary>See <see cref="SiloBatch.PutBlock"/>.</summary>
    public sealed record PutBlock(ShardId Shard, BlockAddress Address, byte[] Data) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.DeleteBlock"/>.</summary>
    public sealed record DeleteBlock(BlockAddress Address) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.PutBlockCopy"/>.</summary>
    public sealed record PutBlockCopy(ShardId Shard, BlockAddress Address, byte[] Data) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.DeleteBlockCopy"/>.</summary>
    public sealed record DeleteBlockCopy(BlockAddress Address) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.PutBlockFragment"/>.</summary>
    public sealed record PutBlockFragment(ShardId Shard, BlockAddress Address, int Index, byte[] Data) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.DeleteBlockFragment"/>.</summary>
    public sealed record DeleteBlockFragment(BlockAddress Address) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.ForgetRemovedBlocks"/>.</summary>
    public sealed record ForgetRemovedBlocks(DateTimeOffset RemovedBefore) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.PutEntry"/>.</summary>
    public sealed record PutEntry(ShardId Shard, string Key, byte[] Value) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.DeleteEntry"/>.</summary>
    public sealed record DeleteEntry(string Key) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.PutMeta"/>.</summary>
    public sealed record PutMeta(string Name, byte[] Value) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.PutRaftState"/>.</summary>
    public sealed record PutRaftState(ShardId Shard, byte[] State) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.AppendLog"/>.</summary>
    public sealed record AppendLog(ShardId Shard, LogIndex Index, Term Term, byte[] Data) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.TruncateLogAfter"/>.</summary>
    public sealed record TruncateLogAfter(ShardId Shard, LogIndex LastKept) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.CompactLogThrough"/>.</summary>
    public sealed record CompactLogThrough(ShardId Shard, LogIndex Through) : SiloOperation;
    /// <summary>See <see cref="SiloBatch.ClearShard"/>.</summary>
    public sealed record ClearShard(ShardId Shard) : SiloOperation;
}
