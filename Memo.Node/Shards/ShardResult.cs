using Memo.Node.Blocks;
using Memo.Node.Shards.Wire;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Shards;

/// <summary>
/// What a shard command did. Every expected outcome is a value here; only bugs and I/O faults surface as
/// exceptions from <see cref="Routing.IShardGateway.ProposeAsync"/>.
/// </summary>
public abstract record ShardResult
{
    private ShardResult() { }

    /// <summary>A block was stored (new, or the next version of a mutable block).</summary>
    public sealed record BlockStored : ShardResult;

    /// <summary>The same immutable block was already stored: an idempotent success.</summary>
    public sealed record BlockAlreadyStored : ShardResult;

    /// <summary>A block was removed.</summary>
    public sealed record BlockRemoved : ShardResult;

    /// <summary>The update carried the wrong version; <paramref name="Current"/> is the stored block.</summary>
    public sealed record BlockConflict(Block Current) : ShardResult;

    /// <summary>No block at the address.</summary>
    public sealed record BlockMissing : ShardResult;

    /// <summary>A mutable or named block already exists at the address.</summary>
    public sealed record BlockExists : ShardResult;

    /// <summary>
    /// The command was refused when it was applied and changed nothing: a malformed or forged block, a removal or
    /// reclaim without proof, a malformed entry write, or a command for another shard or in an unknown format.
    /// Every replica refuses the same command for the same reason (a pure function of the command and the state).
    /// </summary>
    public sealed record Refused(BlockRejection Kind, string Reason) : ShardResult;

    /// <summary>The key now points at the new value; <paramref name="Previous"/> is the entry it replaced, if any.</summary>
    public sealed record EntryWritten(KvEntry? Previous, KvEntry Current) : ShardResult;

    /// <summary>Insert of a key that exists.</summary>
    public sealed record EntryExists : ShardResult;

    /// <summary>Update or delete of a key that does not exist.</summary>
    public sealed record EntryMissing : ShardResult;

    /// <summary>The key was deleted; <paramref name="Previous"/> is the entry it had.</summary>
    public sealed record EntryDeleted(KvEntry Previous) : ShardResult;
}
