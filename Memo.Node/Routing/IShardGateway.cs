using Memo.Node.Shards;
using Memo.Node.Shards.Scanning;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Routing;

/// <summary>
/// What the key-value store and the value store need from the shards: apply a command to its shard (through the
/// shard's Raft group in a cluster), and read committed state. The node's implementation is
/// <see cref="ClusterShardGateway"/> (one Raft group per shard, forwarding to leaders); unit tests of the stores use a
/// serial in-memory one.
/// </summary>
public interface IShardGateway
{
    /// <summary>The shard layout of the network.</summary>
    ShardLayout Layout { get; }

    /// <summary>
    /// Applies <paramref name="command"/> to <paramref name="shard"/> and returns its result once it is committed
    /// (durable on a majority of the shard's replicas). A write whose outcome cannot be known (a leader change
    /// swallowed it, a forwarded call failed after it was sent) fails with an exception, never with a success.
    /// </summary>
    Task<ShardResult> ProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="command"/> to <paramref name="shard"/> as an async write: <see cref="AppendedWrite.Acknowledged"/>
    /// completes once the shard leader's log holds it durably (before a majority does), <see cref="AppendedWrite.Committed"/>
    /// as <see cref="ProposeAsync"/> does. An acknowledged write that does not commit (its leader failed first) ends
    /// Committed with an exception and is not retried. This default acknowledges at the commit, which an async write
    /// may always do.
    /// </summary>
    AppendedWrite ProposeAcknowledgedAtAppend(ShardId shard, ShardCommand command, CancellationToken cancellationToken = default)
    {
        var committed = ProposeAsync(shard, command, cancellationToken);
        return new AppendedWrite(committed, committed);
    }

    /// <summary>
    /// Removes a value block nobody references any more, proving it with the <paramref name="reclaimKey"/> its entry
    /// held (<see cref="Blocks.ReclaimKeys"/>); best effort (a lost or refused reclaim leaves garbage).
    /// </summary>
    void Reclaim(BlockAddress address, ReadOnlyMemory<byte> reclaimKey);

    /// <summary>The stored entry of <paramref name="key"/> at <paramref name="consistency"/> (null: the node's
    /// default); null when missing. Linearizable: it reflects every write acknowledged before the read began. A gateway
    /// that only reads linearizably may ignore the level: a linearizable answer is a valid stale one.</summary>
    ValueTask<byte[]?> ReadEntryAsync(string key, Configuration.ReadConsistency? consistency, CancellationToken cancellationToken = default);

    /// <summary>
    /// The stored block at <paramref name="address"/>; null when missing. With <paramref name="linearizable"/> the
    /// read is confirmed by the shard's leader; otherwise any replica may answer (immutable blocks: the caller
    /// validates the block against its address).
    /// </summary>
    ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, bool linearizable, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores an immutable, validated <paramref name="block"/> durably on a majority of its shard's replicas. The node's
    /// gateway writes it straight to the ring's replica set (no consensus: the block is self-certifying); this default
    /// proposes it to the block's shard.
    /// </summary>
    async Task StoreImmutableBlockAsync(Block block, CancellationToken cancellationToken = default)
    {
        var address = BlockAddress.FromBytes(block.Address.Span);
        var stored = await ProposeAsync(Layout.ShardOf(address),
            new ShardCommand { Format = ShardStateMachine.Format, InsertBlock = new InsertBlock { Block = block } }, cancellationToken).ConfigureAwait(false);
        if (stored is not (ShardResult.BlockStored or ShardResult.BlockAlreadyStored))
        {
            throw new InvalidOperationException($"Storing immutable block {address} failed unexpectedly: {stored}.");
        }
    }

    /// <summary>
    /// A valid copy of the immutable block at <paramref name="address"/> from any replica that holds one, checked
    /// against the address; null when none does (the caller then asks the shard's leader). This default finds none.
    /// </summary>
    ValueTask<Block?> ReadImmutableBlockAsync(BlockAddress address, CancellationToken cancellationToken = default) => ValueTask.FromResult<Block?>(null);

    /// <summary>
    /// One page of a listing across every shard, read linearizably: each node that leads shards walks its keys once
    /// (seeking past rolled-up common prefixes, within the scan's work budget) and the walks are merged in key order.
    /// </summary>
    ValueTask<KeyScanPage> ScanAsync(KeyScan scan, CancellationToken cancellationToken = default);
}
