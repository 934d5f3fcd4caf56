using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Shards;

/// <summary>
/// The deterministic state machine of a shard: given a command and the current bytes of the one record it
/// touches, decides the result and the record's new bytes. Pure: no I/O, no clock, no randomness, so every
/// replica that applies the same commands in the same order (the Raft log) reaches the same state.
/// </summary>
/// <remarks>
/// Blocks reaching here were validated (addresses, signatures) by the API edge; the write rules still decide
/// ownership, versions and write-once semantics, because they depend on the stored state.
/// </remarks>
public static class ShardStateMachine
{
    /// <summary>Current format of <see cref="ShardCommand"/> and <see cref="KvEntry"/>.</summary>
    public const uint Format = 1;

    /// <summary>The record <paramref name="command"/> reads and writes.</summary>
    public static ShardRecordKey TargetOf(ShardCommand command) => command.CommandCase switch
    {
        ShardCommand.CommandOneofCase.InsertBlock => ShardRecordKey.ForBlock(AddressOf(command.InsertBlock.Block)),
        ShardCommand.CommandOneofCase.UpdateBlock => ShardRecordKey.ForBlock(AddressOf(command.UpdateBlock.Block)),
        ShardCommand.CommandOneofCase.DeleteBlock => ShardRecordKey.ForBlock(BlockAddress.FromBytes(command.DeleteBlock.Address.Span)),
        ShardCommand.CommandOneofCase.ReclaimBlock => ShardRecordKey.ForBlock(BlockAddress.FromBytes(command.ReclaimBlock.Address.Span)),
        ShardCommand.CommandOneofCase.WriteEntry => ShardRecordKey.ForEntry(command.WriteEntry.Key),
        ShardCommand.CommandOneofCase.DeleteEntry => ShardRecordKey.ForEntry(command.DeleteEntry.Key),
        _ => throw new InvalidShardCommandException($"Unknown shard command {command.CommandCase}."),
    };

    /// <summary>Decides <paramref name="command"/> against the target record's current bytes (null when absent).</summary>
    public static ShardDecision Decide(ShardCommand command, byte[]? current) => command.CommandCase switch
    {
        ShardCommand.CommandOneofCase.InsertBlock => DecideBlock(command.InsertBlock.Block, BlockWriteRules.DecideInsert(command.InsertBlock.Block, ParseBlock(current))),
        ShardCommand.CommandOneofCase.UpdateBlock => DecideBlock(command.UpdateBlock.Block, BlockWriteRules.DecideUpdate(command.UpdateBlock.Block, ParseBlock(current))),
        ShardCommand.CommandOneofCase.DeleteBlock => DecideBlock(null, BlockWriteRules.DecideDelete(
            BlockAddress.FromBytes(command.DeleteBlock.Address.Span), command.DeleteBlock.Signature.Span, ParseBlock(current))),
        ShardCommand.CommandOneofCase.ReclaimBlock => current is null
            ? ShardDecision.Unchanged(new ShardResult.BlockMissing())
            : ShardDecision.Delete(new ShardResult.BlockRemoved()),
        ShardCommand.CommandOneofCase.WriteEntry => DecideWrite(command.WriteEntry, ParseEntry(current)),
        ShardCommand.CommandOneofCase.DeleteEntry => ParseEntry(current) is { } previous
            ? ShardDecision.Delete(new ShardResult.EntryDeleted(previous))
            : ShardDecision.Unchanged(new ShardResult.EntryMissing()),
        _ => throw new InvalidShardCommandException($"Unknown shard command {command.CommandCase}."),
    };

    private static ShardDecision DecideBlock(Block? incoming, BlockWriteDecision decision) => decision switch
    {
        BlockWriteDecision.Store => ShardDecision.Put(new ShardResult.BlockStored(), incoming!.ToByteArray()),
        BlockWriteDecision.AlreadyStored => ShardDecision.Unchanged(new ShardResult.BlockAlreadyStored()),
        BlockWriteDecision.Remove => ShardDecision.Delete(new ShardResult.BlockRemoved()),
        BlockWriteDecision.Conflict c => ShardDecision.Unchanged(new ShardResult.BlockConflict(c.Current)),
        BlockWriteDecision.NotFound => ShardDecision.Unchanged(new ShardResult.BlockMissing()),
        BlockWriteDecision.AlreadyExists => ShardDecision.Unchanged(new ShardResult.BlockExists()),
        BlockWriteDecision.Rejected r => ShardDecision.Unchanged(new ShardResult.BlockRefused(r.Kind, r.Reason)),
        _ => throw new InvalidShardCommandException($"Unexpected block write decision {decision}."),
    };

    private static ShardDecision DecideWrite(WriteEntry write, KvEntry? previous)
    {
        if (write.Mode == WriteMode.Insert && previous is not null)
        {
            return ShardDecision.Unchanged(new ShardResult.EntryExists());
        }
        if (write.Mode == WriteMode.Update && previous is null)
        {
            return ShardDecision.Unchanged(new ShardResult.EntryMissing());
        }
        var entry = new KvEntry
        {
            Format = Format,
            ValueAddress = write.ValueAddress,
            ValueBlock = write.ValueBlock,
            Version = (previous?.Version ?? 0) + 1,
        };
        return ShardDecision.Put(new ShardResult.EntryWritten(previous, entry), entry.ToByteArray());
    }

    private static BlockAddress AddressOf(Block? block) =>
        block is not null && BlockAddress.TryFromBytes(block.Address.Span, out var address)
            ? address
            : throw new InvalidShardCommandException("A block command carries no valid 32-byte address.");

    /// <summary>Parses a stored block; a record that does not parse is storage corruption, not input.</summary>
    public static Block? ParseBlock(byte[]? stored) => stored is null ? null : Block.Parser.ParseFrom(stored);

    /// <summary>Parses a stored key-value entry.</summary>
    public static KvEntry? ParseEntry(byte[]? stored) => stored is null ? null : KvEntry.Parser.ParseFrom(stored);
}
