using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Shards;

// Design note: a state machine that trusts nothing.
//
// A command reaches a shard group's log from the node's own stores, from another node's gateway through the
// node-internal shard service, or from a faulty or hostile member leading the group. The state machine therefore
// checks everything it can check from the command and the stored record alone, at apply time, on every replica:
//
//   - the command's format is this one, its kind is known, and it names a well-formed record;
//   - the record belongs to the group's shard (ShardLayout): a group stores only its own shard's records;
//   - blocks pass the full BlockValidator check (content address, owner and version signatures) and the write
//     rules (BlockWriteRules: owner, version order, write-once, removal signature, reclaim key);
//   - an entry write names a 32-byte immutable value address and, when it carries its value block, a valid CHB at
//     that address.
//
// A refusal is a result (ShardResult.Refused), never an exception: it is decided from the command and the stored
// record only (no clock, no configuration that may differ between nodes: the shard count is fixed per network),
// so every replica refuses the same entries, changes nothing, and stays identical to the others. The proposer gets
// the reason back. Exceptions remain for bugs and storage corruption (a stored record that does not parse).

/// <summary>
/// The deterministic state machine of a shard: given a command and the current bytes of the one record it
/// touches, decides the result and the record's new bytes. Pure: no I/O, no clock, no randomness, so every
/// replica that applies the same commands in the same order (the Raft log) reaches the same state.
/// </summary>
public static partial class ShardStateMachine
{
    /// <summary>Current format of <see cref="ShardCommand"/> and <see cref="KvEntry"/>.</summary>
    public const uint Format = 1;

    /// <summary>
    /// Most versions of a key an entry keeps (<see cref="WriteEntry.KeepVersions"/>, <c>memo.network.versions</c>).
    /// Every write rewrites the entry with all its kept versions, and an old inline value is up to 4 KiB: at 32 an
    /// entry stays under about 140 KiB, and a proposal's reply (the previous and the new entry) under 300 KiB.
    /// </summary>
    public const int MaxKeptVersions = 32;

    /// <summary>
    /// The record <paramref name="command"/> reads and writes, for a proposer checking its own command; throws
    /// <see cref="InvalidShardCommandException"/> when it names none (a bug in the proposer).
    /// </summary>
    public static ShardRecordKey TargetOf(ShardCommand command) =>
        TryTargetOf(command, out var target, out var problem) ? target : throw new InvalidShardCommandException(problem);

    /// <summary>
    /// The record <paramref name="command"/> reads and writes when the command is in this format, names a
    /// well-formed record and that record belongs to <paramref name="shard"/> under <paramref name="layout"/>;
    /// otherwise false with the refusal to report (nothing is to be read or changed).
    /// </summary>
    public static bool TryTarget(ShardCommand command, ShardId shard, ShardLayout layout, out ShardRecordKey target,
        [NotNullWhen(false)] out ShardResult.Refused? refusal)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(layout);
        refusal = null;
        if (command.Format != Format)
        {
            target = default;
            refusal = Refuse($"shard command format {command.Format} is not {Format}");
            return false;
        }
        if (!TryTargetOf(command, out target, out var problem))
        {
            refusal = Refuse(problem);
            return false;
        }
        var owner = target.IsEntry ? layout.ShardOf(target.Key!) : layout.ShardOf(target.Address);
        if (owner != shard)
        {
            refusal = Refuse($"the command's {(target.IsEntry ? "key" : "block")} belongs to shard {owner.Value}, not to this group's shard {shard.Value}");
            return false;
        }
        // On a network with an owner, who may write the record (ShardStateMachine.Authorization.cs).
        refusal = Authorize(command, layout.Access);
        return refusal is null;
    }

    /// <summary>Decides <paramref name="command"/> against the target record's current bytes (null when absent).</summary>
    public static ShardDecision Decide(ShardCommand command, byte[]? current)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!TryTargetOf(command, out _, out var problem))
        {
            return ShardDecision.Unchanged(Refuse(problem));
        }
        return command.CommandCase switch
        {
            ShardCommand.CommandOneofCase.InsertBlock => DecideBlock(command.InsertBlock.Block, BlockWriteRules.DecideInsert(command.InsertBlock.Block, ParseBlock(current))),
            ShardCommand.CommandOneofCase.UpdateBlock when command.UpdateBlock.KeepVersions > MaxKeptVersions => TooManyVersions(command.UpdateBlock.KeepVersions),
            ShardCommand.CommandOneofCase.DeleteBlock when command.DeleteBlock.KeepVersions > MaxKeptVersions => TooManyVersions(command.DeleteBlock.KeepVersions),
            ShardCommand.CommandOneofCase.UpdateBlock => KeepBlockVersions(command.UpdateBlock.KeepVersions, current,
                DecideBlock(command.UpdateBlock.Block, BlockWriteRules.DecideUpdate(command.UpdateBlock.Block, ParseBlock(current)))),
            ShardCommand.CommandOneofCase.DeleteBlock => KeepBlockVersions(command.DeleteBlock.KeepVersions, current,
                DecideBlock(null, BlockWriteRules.DecideDelete(BlockAddress.FromBytes(command.DeleteBlock.Address.Span), command.DeleteBlock.Signature.Span,
                    ParseBlock(current) ?? Carried(command.DeleteBlock.Block, command.DeleteBlock.Address)))),
            ShardCommand.CommandOneofCase.ReclaimBlock => DecideBlock(null, BlockWriteRules.DecideReclaim(
                BlockAddress.FromBytes(command.ReclaimBlock.Address.Span), command.ReclaimBlock.ReclaimKey.Span,
                ParseBlock(current) ?? Carried(command.ReclaimBlock.Block, command.ReclaimBlock.Address))),
            ShardCommand.CommandOneofCase.WriteEntry => DecideWrite(command.WriteEntry, ParseEntry(current)),
            ShardCommand.CommandOneofCase.DeleteEntry => ParseEntry(current) is { } previous
                ? ShardDecision.Delete(new ShardResult.EntryDeleted(previous))
                : ShardDecision.Unchanged(new ShardResult.EntryMissing()),
            ShardCommand.CommandOneofCase.RevokePassport => DecideRevocation(command.RevokePassport, ParseEntry(current)),
            _ => throw new InvalidOperationException($"Unreachable: {command.CommandCase} has a target but no rule."),
        };
    }

    /// <summary>
    /// Checks one record a snapshot installs: it belongs to <paramref name="shard"/>, and is what the state machine
    /// could have stored there (a valid block at its address, a well-formed entry). Null when it is; otherwise why not.
    /// </summary>
    public static string? CheckRecord(ShardRecordKey key, byte[] value, ShardId shard, ShardLayout layout)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(layout);
        var owner = key.IsEntry ? layout.ShardOf(key.Key!) : layout.ShardOf(key.Address);
        if (owner != shard)
        {
            return $"it belongs to shard {owner.Value}";
        }
        try
        {
            if (!key.IsEntry)
            {
                var block = Block.Parser.ParseFrom(value);
                var check = BlockValidator.ValidateAt(block, key.Address);
                return check.IsValid || BlockVersions.IsKeptVersionAt(block, key.Address) ? null : check.ToString();
            }
            if (key.Key!.Length == 0)
            {
                return "an entry without a key";
            }
            var entry = KvEntry.Parser.ParseFrom(value);
            var write = new WriteEntry { Key = key.Key, ValueAddress = entry.ValueAddress, ValueBlock = entry.ValueBlock, ReclaimKey = entry.ReclaimKey };
            return CheckWrite(write)?.Reason ?? CheckOlderVersions(key.Key, entry);
        }
        catch (InvalidProtocolBufferException e)
        {
            return "it does not parse: " + e.Message;
        }
    }

    private static bool TryTargetOf(ShardCommand command, out ShardRecordKey target, out string problem)
    {
        target = default;
        problem = "";
        switch (command.CommandCase)
        {
            case ShardCommand.CommandOneofCase.InsertBlock:
                return TryBlockTarget(command.InsertBlock.Block?.Address, out target, out problem);
            case ShardCommand.CommandOneofCase.UpdateBlock:
                return TryBlockTarget(command.UpdateBlock.Block?.Address, out target, out problem);
            case ShardCommand.CommandOneofCase.DeleteBlock:
                return TryBlockTarget(command.DeleteBlock.Address, out target, out problem);
            case ShardCommand.CommandOneofCase.ReclaimBlock:
                return TryBlockTarget(command.ReclaimBlock.Address, out target, out problem);
            case ShardCommand.CommandOneofCase.WriteEntry:
                return TryEntryTarget(command.WriteEntry.Key, out target, out problem);
            case ShardCommand.CommandOneofCase.DeleteEntry:
                return TryEntryTarget(command.DeleteEntry.Key, out target, out problem);
            case ShardCommand.CommandOneofCase.RevokePassport:
                return TryEntryTarget(Security.NetworkAccess.RevocationKey, out target, out problem);
            default:
                problem = $"unknown shard command {command.CommandCase}";
                return false;
        }
    }

    private static bool TryBlockTarget(ByteString? address, out ShardRecordKey target, out string problem)
    {
        if (address is not null && BlockAddress.TryFromBytes(address.Span, out var parsed))
        {
            target = ShardRecordKey.ForBlock(parsed);
            problem = "";
            return true;
        }
        target = default;
        problem = $"a block command carries no valid {BlockAddress.Length}-byte address";
        return false;
    }

    private static bool TryEntryTarget(string key, out ShardRecordKey target, out string problem)
    {
        if (!string.IsNullOrEmpty(key))
        {
            target = ShardRecordKey.ForEntry(key);
            problem = "";
            return true;
        }
        target = default;
        problem = "an entry command names no key";
        return false;
    }

    private static ShardDecision TooManyVersions(uint keep) =>
        ShardDecision.Unchanged(Refuse($"the command keeps {keep} versions; at most {MaxKeptVersions} are kept"));

    // A mutable block replaced by its next version keeps the replaced one at its version address, and the version that
    // falls beyond keep - 1 older ones is removed there; a removed block takes its kept versions with it (a delete is
    // not a version, as for keys). Versions of a mutable block are consecutive (BlockWriteRules: stored + 1), so which
    // version addresses to write follows from the stored block alone, without reading them.
    private static ShardDecision KeepBlockVersions(uint keep, byte[]? current, ShardDecision decision)
    {
        if (keep <= 1 || current is null || decision.Result is not (ShardResult.BlockStored or ShardResult.BlockRemoved))
        {
            return decision;
        }
        var stored = Block.Parser.ParseFrom(current);
        if (!stored.TryGetKind(out var kind) || kind != BlockKind.Mutable || !stored.TryGetAddress(out var address))
        {
            return decision;
        }
        // Kept before this command: the stored version and the keep - 1 before it, those at least 0.
        var oldest = stored.Version - (keep - 1);
        var writes = new List<ShardRecordWrite>();
        if (decision.Result is ShardResult.BlockStored)
        {
            writes.Add(new ShardRecordWrite(ShardRecordKey.ForBlock(BlockVersions.AddressOf(address, stored.Version)), current));
            if (oldest >= 0)
            {
                writes.Add(new ShardRecordWrite(ShardRecordKey.ForBlock(BlockVersions.AddressOf(address, oldest)), null));
            }
        }
        else
        {
            for (var version = Math.Max(0, oldest); version < stored.Version; version++)
            {
                writes.Add(new ShardRecordWrite(ShardRecordKey.ForBlock(BlockVersions.AddressOf(address, version)), null));
            }
        }
        return decision with { Also = writes };
    }

    private static ShardDecision DecideBlock(Block? incoming, BlockWriteDecision decision) => decision switch
    {
        BlockWriteDecision.Store => ShardDecision.Put(new ShardResult.BlockStored(), incoming!.ToByteArray()),
        BlockWriteDecision.AlreadyStored => ShardDecision.Unchanged(new ShardResult.BlockAlreadyStored()),
        BlockWriteDecision.Remove => ShardDecision.Delete(new ShardResult.BlockRemoved()),
        BlockWriteDecision.Conflict c => ShardDecision.Unchanged(new ShardResult.BlockConflict(c.Current)),
        BlockWriteDecision.NotFound => ShardDecision.Unchanged(new ShardResult.BlockMissing()),
        BlockWriteDecision.AlreadyExists => ShardDecision.Unchanged(new ShardResult.BlockExists()),
        BlockWriteDecision.Rejected r => ShardDecision.Unchanged(new ShardResult.Refused(r.Kind, r.Reason)),
        _ => throw new InvalidOperationException($"Unexpected block write decision {decision}."),
    };

    private static ShardDecision DecideWrite(WriteEntry write, KvEntry? previous)
    {
        if (CheckWrite(write) is { } problem)
        {
            return ShardDecision.Unchanged(problem);
        }
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
            ReclaimKey = write.ReclaimKey,
        };
        // With one version kept (the default) nothing more is done: the write costs what it did before versioning.
        if (write.KeepVersions > 1 && previous is not null)
        {
            KeepOlderVersions(entry, previous, (int)write.KeepVersions);
        }
        return ShardDecision.Put(new ShardResult.EntryWritten(previous, entry), entry.ToByteArray());
    }

    // The replaced value becomes the newest older version, and the older versions beyond keep - 1 fall away. Which
    // value blocks fell away is not decided here: the proposer compares the previous and the new entry
    // (KeyValueStore reclaims every block the new entry no longer names), so a block is reclaimed once it is pruned.
    private static void KeepOlderVersions(KvEntry entry, KvEntry previous, int keep)
    {
        var replaced = new KvEntry
        {
            Format = previous.Format,
            ValueAddress = previous.ValueAddress,
            ValueBlock = previous.ValueBlock,
            Version = previous.Version,
            ReclaimKey = previous.ReclaimKey,
        };
        entry.OlderVersions.Add(replaced);
        for (var i = 0; i < previous.OlderVersions.Count && entry.OlderVersions.Count < keep - 1; i++)
        {
            entry.OlderVersions.Add(previous.OlderVersions[i]);
        }
    }

    // An entry a snapshot installs keeps what DecideWrite could have kept: at most MaxKeptVersions - 1 older versions,
    // newest first, each a valid value of its own and with no older versions of its own.
    private static string? CheckOlderVersions(string key, KvEntry entry)
    {
        if (entry.OlderVersions.Count > MaxKeptVersions - 1)
        {
            return $"the entry keeps {entry.OlderVersions.Count} older versions; at most {MaxKeptVersions - 1} are kept";
        }
        var newer = entry.Version;
        foreach (var older in entry.OlderVersions)
        {
            if (older.OlderVersions.Count > 0 || older.Version >= newer || older.Version == 0)
            {
                return $"the older version {older.Version} of the entry is out of order or nested";
            }
            var write = new WriteEntry { Key = key, ValueAddress = older.ValueAddress, ValueBlock = older.ValueBlock, ReclaimKey = older.ReclaimKey };
            if (CheckWrite(write) is { } problem)
            {
                return $"the older version {older.Version}: {problem.Reason}";
            }
            newer = older.Version;
        }
        return null;
    }

    // What an entry must be for a reader to trust it: a value address that can only name a CHB, and an inline block
    // that is a valid CHB at that address (the same check the API makes before it stores a block).
    private static ShardResult.Refused? CheckWrite(WriteEntry write)
    {
        if (write.Mode is not (WriteMode.Upsert or WriteMode.Insert or WriteMode.Update))
        {
            return Refuse($"unknown write mode {(int)write.Mode}");
        }
        if (!BlockAddress.TryFromBytes(write.ValueAddress.Span, out var address) || !address.IsImmutable)
        {
            return Refuse($"the value address is not a {BlockAddress.Length}-byte immutable block address");
        }
        if (write.ReclaimKey.Length is not (0 or ReclaimKeys.Length))
        {
            return Refuse($"the reclaim key is {write.ReclaimKey.Length} bytes, not {ReclaimKeys.Length}");
        }
        if (write.KeepVersions > MaxKeptVersions)
        {
            return Refuse($"the write keeps {write.KeepVersions} versions; at most {MaxKeptVersions} are kept");
        }
        if (write.ValueBlock is not { } inline)
        {
            return null;
        }
        var check = BlockValidator.ValidateAt(inline, address);
        if (!check.IsValid)
        {
            return new ShardResult.Refused(
                check.Outcome == BlockCheckOutcome.Malformed ? BlockRejection.InvalidArgument : BlockRejection.PermissionDenied,
                $"the entry's value block is not valid at its address: {check.Reason}");
        }
        return inline.TryGetKind(out var kind) && kind == BlockKind.Immutable
            ? null
            : Refuse($"the entry's value block is {inline.Type}, not an immutable block");
    }

    private static ShardResult.Refused Refuse(string reason) => new(BlockRejection.InvalidArgument, reason);

    /// <summary>Parses a stored block; a record that does not parse is storage corruption, not input. The block's payload
    /// shares <paramref name="stored"/> (<see cref="SharedPayloadParser"/>): a stored record is never written to after it
    /// was read or staged, and a reclaim of a 1 MiB value then parses a few hundred bytes, not the value.</summary>
    public static Block? ParseBlock(byte[]? stored) => stored is null ? null : SharedPayloadParser.Parse(stored);

    // The erasure-coded block a delete or reclaim carries, when this replica stores none: used only when it is an
    // immutable block whose content is its address (self-certifying), so a proposer cannot make up a block to remove.
    // Every replica reaches the same answer from the command alone.
    private static Block? Carried(Block? carried, Google.Protobuf.ByteString addressBytes) =>
        carried is not null && BlockAddress.TryFromBytes(addressBytes.Span, out var address) && address.IsImmutable
            && BlockValidator.ValidateAt(carried, address).IsValid
            ? carried
            : null;

    /// <summary>Parses a stored key-value entry.</summary>
    public static KvEntry? ParseEntry(byte[]? stored) => stored is null ? null : KvEntry.Parser.ParseFrom(stored);
}
