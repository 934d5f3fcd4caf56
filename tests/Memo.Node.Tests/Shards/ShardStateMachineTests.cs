using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Tests.Shards;

public sealed class ShardStateMachineTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _stranger = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _stranger.Dispose();
    }

    private static ShardCommand Insert(Block block) => new() { Format = 1, InsertBlock = new InsertBlock { Block = block } };
    private static ShardCommand Update(Block block) => new() { Format = 1, UpdateBlock = new UpdateBlock { Block = block } };
    private static ShardCommand Write(string key, WriteMode mode, byte last = 1) => new()
    {
        Format = 1,
        WriteEntry = new WriteEntry { Key = key, Mode = mode, ValueAddress = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 31).Append(last).ToArray()) },
    };

    [Fact]
    public void Inserting_a_new_block_stores_its_bytes()
    {
        var block = BlockFactory.MakeImmutable([1, 2, 3], _owner.PublicKey);
        var decision = ShardStateMachine.Decide(Insert(block), current: null);
        Assert.IsType<ShardResult.BlockStored>(decision.Result);
        Assert.True(decision.Changed);
        Assert.Equal(block, Block.Parser.ParseFrom(decision.NewValue));
    }

    [Fact]
    public void Inserting_the_same_immutable_block_twice_is_an_idempotent_success()
    {
        var block = BlockFactory.MakeImmutable([1, 2, 3], _owner.PublicKey);
        var decision = ShardStateMachine.Decide(Insert(block), block.ToByteArray());
        Assert.IsType<ShardResult.BlockAlreadyStored>(decision.Result);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void Inserting_over_an_existing_mutable_block_is_refused_as_existing()
    {
        var block = BlockFactory.MakeMutable(_owner, [1]);
        var decision = ShardStateMachine.Decide(Insert(block), block.ToByteArray());
        Assert.IsType<ShardResult.BlockExists>(decision.Result);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void Update_with_the_next_version_replaces_the_block()
    {
        var v0 = BlockFactory.MakeMutable(_owner, [1]);
        var v1 = BlockFactory.NextVersion(v0, [2], _owner);
        var decision = ShardStateMachine.Decide(Update(v1), v0.ToByteArray());
        Assert.IsType<ShardResult.BlockStored>(decision.Result);
        Assert.Equal(1, Block.Parser.ParseFrom(decision.NewValue).Version);
    }

    [Fact]
    public void Update_with_a_stale_version_reports_a_conflict_carrying_the_stored_block()
    {
        var v0 = BlockFactory.MakeMutable(_owner, [1]);
        var v1 = BlockFactory.NextVersion(v0, [2], _owner);
        var otherV1 = BlockFactory.NextVersion(v0, [3], _owner);
        var decision = ShardStateMachine.Decide(Update(otherV1), v1.ToByteArray());
        var conflict = Assert.IsType<ShardResult.BlockConflict>(decision.Result);
        Assert.Equal(v1, conflict.Current);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void Update_of_a_missing_block_reports_it_missing()
    {
        var v0 = BlockFactory.MakeMutable(_owner, [1]);
        var v1 = BlockFactory.NextVersion(v0, [2], _owner);
        Assert.IsType<ShardResult.BlockMissing>(ShardStateMachine.Decide(Update(v1), null).Result);
    }

    [Fact]
    public void Delete_needs_the_owners_removal_signature()
    {
        var block = BlockFactory.MakeMutable(_owner, [1]);
        var stored = block.ToByteArray();
        ShardCommand Delete(byte[] signature) => new() { Format = 1, DeleteBlock = new DeleteBlock { Address = block.Address, Signature = ByteString.CopyFrom(signature) } };

        var refused = ShardStateMachine.Decide(Delete(_stranger.Sign(BlockSigning.RemovalBytes(block))), stored);
        Assert.Equal(BlockRejection.PermissionDenied, Assert.IsType<ShardResult.Refused>(refused.Result).Kind);
        Assert.False(refused.Changed);

        var removed = ShardStateMachine.Decide(Delete(BlockFactory.RemovalSignature(block, _owner)), stored);
        Assert.IsType<ShardResult.BlockRemoved>(removed.Result);
        Assert.True(removed.Changed);
        Assert.Null(removed.NewValue);
    }

    [Fact]
    public void Insert_mode_refuses_an_existing_key_and_update_mode_a_missing_one()
    {
        var existing = ShardStateMachine.Decide(Write("k", WriteMode.Upsert), null).NewValue;
        Assert.IsType<ShardResult.EntryExists>(ShardStateMachine.Decide(Write("k", WriteMode.Insert), existing).Result);
        Assert.IsType<ShardResult.EntryMissing>(ShardStateMachine.Decide(Write("k", WriteMode.Update), null).Result);
    }

    [Fact]
    public void Each_write_of_a_key_bumps_its_version_and_reports_the_replaced_entry()
    {
        var first = ShardStateMachine.Decide(Write("k", WriteMode.Insert, 1), null);
        var firstEntry = Assert.IsType<ShardResult.EntryWritten>(first.Result);
        Assert.Null(firstEntry.Previous);
        Assert.Equal(1UL, firstEntry.Current.Version);

        var second = ShardStateMachine.Decide(Write("k", WriteMode.Update, 3), first.NewValue);
        var secondEntry = Assert.IsType<ShardResult.EntryWritten>(second.Result);
        Assert.Equal(firstEntry.Current, secondEntry.Previous);
        Assert.Equal(2UL, secondEntry.Current.Version);
    }

    [Fact]
    public void Deleting_a_key_reports_the_entry_it_had_and_a_missing_key_as_missing()
    {
        var written = ShardStateMachine.Decide(Write("k", WriteMode.Upsert), null);
        var delete = new ShardCommand { Format = 1, DeleteEntry = new DeleteEntry { Key = "k" } };
        var deleted = ShardStateMachine.Decide(delete, written.NewValue);
        Assert.IsType<ShardResult.EntryDeleted>(deleted.Result);
        Assert.True(deleted.Changed);
        Assert.IsType<ShardResult.EntryMissing>(ShardStateMachine.Decide(delete, null).Result);
    }

    [Fact]
    public void Reclaiming_removes_a_value_block_only_with_the_key_its_entry_held_and_tolerates_absence()
    {
        var key = ReclaimKeys.NewKey();
        var block = BlockFactory.MakeImmutable([9], _owner.PublicKey, ReclaimKeys.SaltOf(key));
        ShardCommand Reclaim(byte[] proof) => new() { Format = 1, ReclaimBlock = new ReclaimBlock { Address = block.Address, ReclaimKey = ByteString.CopyFrom(proof) } };

        foreach (var wrong in new[] { [], ReclaimKeys.NewKey(), block.Salt.ToByteArray() })
        {
            var refused = ShardStateMachine.Decide(Reclaim(wrong), block.ToByteArray());
            Assert.Equal(BlockRejection.PermissionDenied, Assert.IsType<ShardResult.Refused>(refused.Result).Kind);
            Assert.False(refused.Changed);
        }
        Assert.IsType<ShardResult.BlockRemoved>(ShardStateMachine.Decide(Reclaim(key), block.ToByteArray()).Result);
        Assert.IsType<ShardResult.BlockMissing>(ShardStateMachine.Decide(Reclaim(key), null).Result);
    }

    [Fact]
    public void A_reclaim_or_delete_of_an_erasure_coded_block_decides_on_the_block_it_carries_only_when_it_is_the_block_at_the_address()
    {
        var key = ReclaimKeys.NewKey();
        var block = BlockFactory.MakeImmutable([9, 9, 9], _owner.PublicKey, ReclaimKeys.SaltOf(key));
        var forged = block.Clone();
        forged.Data = ByteString.CopyFrom([6]);
        ShardCommand Reclaim(Memo.Protocol.ValueStore.Block carried) =>
            new() { Format = 1, ReclaimBlock = new ReclaimBlock { Address = block.Address, ReclaimKey = ByteString.CopyFrom(key), Block = carried } };

        // No replica stores a coded block: the carried one decides, and the removal is staged (recorded as removed).
        var removed = ShardStateMachine.Decide(Reclaim(block), null);
        Assert.IsType<ShardResult.BlockRemoved>(removed.Result);
        Assert.True(removed.Changed);
        // A block that is not the one at the address proves nothing.
        Assert.IsType<ShardResult.BlockMissing>(ShardStateMachine.Decide(Reclaim(forged), null).Result);

        var signature = ByteString.CopyFrom(BlockFactory.RemovalSignature(block, _owner));
        ShardCommand Delete(Memo.Protocol.ValueStore.Block carried) =>
            new() { Format = 1, DeleteBlock = new DeleteBlock { Address = block.Address, Signature = signature, Block = carried } };
        Assert.IsType<ShardResult.BlockRemoved>(ShardStateMachine.Decide(Delete(block), null).Result);
        Assert.IsType<ShardResult.BlockMissing>(ShardStateMachine.Decide(Delete(forged), null).Result);
    }

    [Fact]
    public void Only_owned_immutable_blocks_can_be_reclaimed()
    {
        var key = ReclaimKeys.NewKey();
        var ownerless = BlockFactory.MakeImmutable([9], null, ReclaimKeys.SaltOf(key));
        var mutable = BlockFactory.MakeMutable(_owner, [9]);
        foreach (var block in new[] { ownerless, mutable })
        {
            var reclaim = new ShardCommand { Format = 1, ReclaimBlock = new ReclaimBlock { Address = block.Address, ReclaimKey = ByteString.CopyFrom(key) } };
            Assert.IsType<ShardResult.Refused>(ShardStateMachine.Decide(reclaim, block.ToByteArray()).Result);
        }
    }

    [Fact]
    public void A_command_without_a_kind_is_rejected_as_invalid()
    {
        Assert.Throws<InvalidShardCommandException>(() => ShardStateMachine.TargetOf(new ShardCommand()));
    }

    [Fact]
    public void A_command_for_another_shards_record_or_in_another_format_is_refused_before_anything_is_read()
    {
        var layout = new ShardLayout(4);
        var block = BlockFactory.MakeImmutable([1], _owner.PublicKey);
        var home = layout.ShardOf(block.GetAddress());
        var other = new ShardId((home.Value + 1) % 4);

        Assert.True(ShardStateMachine.TryTarget(Insert(block), home, layout, out var target, out _));
        Assert.Equal(block.GetAddress(), target.Address);
        Assert.False(ShardStateMachine.TryTarget(Insert(block), other, layout, out _, out var misrouted));
        Assert.Contains($"belongs to shard {home.Value}", misrouted.Reason, StringComparison.Ordinal);

        var keyHome = layout.ShardOf("k");
        Assert.False(ShardStateMachine.TryTarget(Write("k", WriteMode.Upsert), new ShardId((keyHome.Value + 1) % 4), layout, out _, out _));

        var newer = Insert(block);
        newer.Format = 2;
        Assert.False(ShardStateMachine.TryTarget(newer, home, layout, out _, out var format));
        Assert.Contains("format 2", format.Reason, StringComparison.Ordinal);

        Assert.False(ShardStateMachine.TryTarget(new ShardCommand { Format = 1 }, home, layout, out _, out _));
        Assert.False(ShardStateMachine.TryTarget(new ShardCommand { Format = 1, DeleteEntry = new DeleteEntry() }, home, layout, out _, out _));
        Assert.False(ShardStateMachine.TryTarget(new ShardCommand { Format = 1, InsertBlock = new InsertBlock() }, home, layout, out _, out _));
    }

    [Fact]
    public void A_forged_block_is_refused_at_apply_even_over_nothing_stored()
    {
        var tampered = BlockFactory.MakeMutable(_owner, [1]);
        tampered.Data = ByteString.CopyFrom([2]);
        var insert = ShardStateMachine.Decide(Insert(tampered), null);
        Assert.Equal(BlockRejection.PermissionDenied, Assert.IsType<ShardResult.Refused>(insert.Result).Kind);
        Assert.False(insert.Changed);

        var unsigned = BlockFactory.MakeMutableUnsigned(_owner.PublicKey);
        Assert.Equal(BlockRejection.InvalidArgument, Assert.IsType<ShardResult.Refused>(ShardStateMachine.Decide(Insert(unsigned), null).Result).Kind);
    }

    [Fact]
    public void An_entry_write_must_name_an_immutable_value_and_carry_a_valid_inline_block()
    {
        var mutableAddress = Write("k", WriteMode.Upsert, last: 0);
        Assert.IsType<ShardResult.Refused>(ShardStateMachine.Decide(mutableAddress, null).Result);

        var inline = BlockFactory.MakeImmutable([1, 2], _owner.PublicKey);
        var good = new ShardCommand { Format = 1, WriteEntry = new WriteEntry { Key = "k", ValueAddress = inline.Address, ValueBlock = inline } };
        Assert.IsType<ShardResult.EntryWritten>(ShardStateMachine.Decide(good, null).Result);

        var elsewhere = BlockFactory.MakeImmutable([3], _owner.PublicKey);
        var mismatched = good.Clone();
        mismatched.WriteEntry.ValueAddress = elsewhere.Address;
        Assert.Equal(BlockRejection.PermissionDenied, Assert.IsType<ShardResult.Refused>(ShardStateMachine.Decide(mismatched, null).Result).Kind);

        var badMode = Write("k", (WriteMode)7);
        Assert.IsType<ShardResult.Refused>(ShardStateMachine.Decide(badMode, null).Result);

        var shortKey = Write("k", WriteMode.Upsert);
        shortKey.WriteEntry.ReclaimKey = ByteString.CopyFrom([1, 2, 3]);
        Assert.IsType<ShardResult.Refused>(ShardStateMachine.Decide(shortKey, null).Result);
    }

    [Fact]
    public void An_entry_keeps_the_reclaim_key_of_its_value_block_and_hands_it_to_whoever_replaces_it()
    {
        var key = ReclaimKeys.NewKey();
        var write = Write("k", WriteMode.Upsert);
        write.WriteEntry.ReclaimKey = ByteString.CopyFrom(key);
        var first = ShardStateMachine.Decide(write, null);
        var replaced = Assert.IsType<ShardResult.EntryWritten>(ShardStateMachine.Decide(Write("k", WriteMode.Upsert), first.NewValue).Result);
        Assert.Equal(key, replaced.Previous!.ReclaimKey.ToByteArray());
    }

    [Fact]
    public void A_snapshot_record_is_installed_only_when_the_state_machine_could_have_stored_it_in_that_shard()
    {
        var layout = new ShardLayout(2);
        var block = BlockFactory.MakeMutable(_owner, [1]);
        var address = block.GetAddress();
        var home = layout.ShardOf(address);
        Assert.Null(ShardStateMachine.CheckRecord(ShardRecordKey.ForBlock(address), block.ToByteArray(), home, layout));
        Assert.NotNull(ShardStateMachine.CheckRecord(ShardRecordKey.ForBlock(address), block.ToByteArray(), new ShardId(1 - home.Value), layout));

        var forged = block.Clone();
        forged.Data = ByteString.CopyFrom([2]);
        Assert.Contains("Forged", ShardStateMachine.CheckRecord(ShardRecordKey.ForBlock(address), forged.ToByteArray(), home, layout), StringComparison.Ordinal);
        Assert.NotNull(ShardStateMachine.CheckRecord(ShardRecordKey.ForBlock(address), [0xFF, 0xFF], home, layout));

        var entry = ShardStateMachine.Decide(Write("k", WriteMode.Upsert), null).NewValue!;
        var keyHome = layout.ShardOf("k");
        Assert.Null(ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry("k"), entry, keyHome, layout));
        var pointingAtMutable = KvEntry.Parser.ParseFrom(entry);
        pointingAtMutable.ValueAddress = block.Address;
        Assert.NotNull(ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry("k"), pointingAtMutable.ToByteArray(), keyHome, layout));
    }

    // The value address of version v ends in 2v+1 (an odd last byte marks an immutable address).
    private static ShardCommand WriteKeeping(string key, byte version, uint keep)
    {
        var command = Write(key, WriteMode.Upsert, (byte)(2 * version + 1));
        command.WriteEntry.KeepVersions = keep;
        return command;
    }

    [Fact]
    public void A_write_keeping_N_versions_keeps_the_replaced_values_newest_first_and_drops_those_beyond_N()
    {
        byte[]? stored = null;
        for (byte v = 1; v <= 6; v++)
        {
            stored = ShardStateMachine.Decide(WriteKeeping("k", v, keep: 3), stored).NewValue;
        }
        var entry = KvEntry.Parser.ParseFrom(stored);
        Assert.Equal(6UL, entry.Version);
        Assert.Equal([5UL, 4UL], entry.OlderVersions.Select(o => o.Version));
        // Each older version carries its own value address and nothing nested.
        Assert.Equal([(byte)11, (byte)9], entry.OlderVersions.Select(o => o.ValueAddress[31]));
        Assert.All(entry.OlderVersions, o => Assert.Empty(o.OlderVersions));

        // Keeping fewer from now on prunes on the next write; keeping one (or a proposer from before versioning: 0) keeps none.
        var fewer = KvEntry.Parser.ParseFrom(ShardStateMachine.Decide(WriteKeeping("k", 7, keep: 2), stored).NewValue);
        Assert.Equal([6UL], fewer.OlderVersions.Select(o => o.Version));
        Assert.Empty(KvEntry.Parser.ParseFrom(ShardStateMachine.Decide(WriteKeeping("k", 7, keep: 1), stored).NewValue).OlderVersions);
        Assert.Empty(KvEntry.Parser.ParseFrom(ShardStateMachine.Decide(WriteKeeping("k", 7, keep: 0), stored).NewValue).OlderVersions);
    }

    [Fact]
    public void A_write_keeping_more_versions_than_the_cap_is_refused_and_changes_nothing()
    {
        var decision = ShardStateMachine.Decide(WriteKeeping("k", 1, keep: ShardStateMachine.MaxKeptVersions + 1), null);
        var refused = Assert.IsType<ShardResult.Refused>(decision.Result);
        Assert.Contains("versions", refused.Reason, StringComparison.Ordinal);
        Assert.False(decision.Changed);
        Assert.IsType<ShardResult.EntryWritten>(ShardStateMachine.Decide(WriteKeeping("k", 1, keep: ShardStateMachine.MaxKeptVersions), null).Result);
    }

    [Fact]
    public void A_snapshot_entry_with_older_versions_is_installed_only_when_they_are_ordered_flat_and_valid()
    {
        var layout = new ShardLayout(2);
        var home = layout.ShardOf("k");
        byte[]? stored = null;
        for (byte v = 1; v <= 4; v++)
        {
            stored = ShardStateMachine.Decide(WriteKeeping("k", v, keep: 4), stored).NewValue;
        }
        Assert.Null(ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry("k"), stored!, home, layout));

        var unordered = KvEntry.Parser.ParseFrom(stored);
        (unordered.OlderVersions[0], unordered.OlderVersions[1]) = (unordered.OlderVersions[1], unordered.OlderVersions[0]);
        Assert.Contains("out of order", ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry("k"), unordered.ToByteArray(), home, layout), StringComparison.Ordinal);

        var nested = KvEntry.Parser.ParseFrom(stored);
        nested.OlderVersions[0].OlderVersions.Add(nested.OlderVersions[1].Clone());
        Assert.NotNull(ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry("k"), nested.ToByteArray(), home, layout));

        var badAddress = KvEntry.Parser.ParseFrom(stored);
        badAddress.OlderVersions[1].ValueAddress = ByteString.CopyFrom([1, 2, 3]);
        Assert.Contains("older version 2", ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry("k"), badAddress.ToByteArray(), home, layout), StringComparison.Ordinal);

        var tooMany = KvEntry.Parser.ParseFrom(stored);
        tooMany.Version = 100;
        tooMany.OlderVersions.Clear();
        for (var v = 99UL; v > 99UL - (ulong)ShardStateMachine.MaxKeptVersions; v--)
        {
            var older = KvEntry.Parser.ParseFrom(stored);
            older.OlderVersions.Clear();
            older.Version = v;
            tooMany.OlderVersions.Add(older);
        }
        Assert.Contains("older versions", ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry("k"), tooMany.ToByteArray(), home, layout), StringComparison.Ordinal);
    }

    [Fact]
    public void An_update_keeping_N_versions_keeps_the_replaced_block_at_its_version_address_and_drops_the_one_beyond_N()
    {
        var layout = new ShardLayout(4);
        var v0 = BlockFactory.MakeMutable(_owner, [0]);
        var address = v0.GetAddress();
        var stored = v0.ToByteArray();
        var blocks = new List<Block> { v0 };
        for (var v = 1; v <= 3; v++)
        {
            var next = BlockFactory.NextVersion(blocks[^1], [(byte)v], _owner);
            var update = Update(next);
            update.UpdateBlock.KeepVersions = 3;
            var decision = ShardStateMachine.Decide(update, stored);
            Assert.IsType<ShardResult.BlockStored>(decision.Result);
            var also = decision.Also!;
            // The replaced version, kept at its version address in the block's own shard...
            Assert.Equal(ShardRecordKey.ForBlock(BlockVersions.AddressOf(address, v - 1)), also[0].Key);
            Assert.Equal(stored, also[0].Value);
            Assert.Equal(layout.ShardOf(address), layout.ShardOf(also[0].Key.Address));
            Assert.Null(ShardStateMachine.CheckRecord(also[0].Key, also[0].Value!, layout.ShardOf(address), layout));
            // ...and, from the fourth version on, the one that is now older than the last 3 removed.
            Assert.Equal(v == 3 ? [new ShardRecordWrite(ShardRecordKey.ForBlock(BlockVersions.AddressOf(address, 0)), null)] : [], also.Skip(1));
            blocks.Add(next);
            stored = decision.NewValue!;
        }

        // A kept version is a valid record only at its own version address.
        Assert.NotNull(ShardStateMachine.CheckRecord(ShardRecordKey.ForBlock(BlockVersions.AddressOf(address, 2)), blocks[1].ToByteArray(), layout.ShardOf(address), layout));

        // A delete takes the kept versions (1 and 2 below the current 3) with it; one version kept writes nothing more.
        var delete = new ShardCommand { Format = 1, DeleteBlock = new DeleteBlock { Address = v0.Address, Signature = ByteString.CopyFrom(BlockFactory.RemovalSignature(blocks[^1], _owner)), KeepVersions = 3 } };
        var removed = ShardStateMachine.Decide(delete, stored);
        Assert.IsType<ShardResult.BlockRemoved>(removed.Result);
        Assert.Equal([BlockVersions.AddressOf(address, 1), BlockVersions.AddressOf(address, 2)], removed.Also!.Select(w => w.Key.Address));
        Assert.All(removed.Also!, w => Assert.Null(w.Value));
        Assert.Null(ShardStateMachine.Decide(Update(BlockFactory.NextVersion(blocks[^1], [9], _owner)), stored).Also);
    }

    [Fact]
    public void Deciding_is_deterministic()
    {
        var block = BlockFactory.MakeMutable(_owner, [1, 2]);
        var next = BlockFactory.NextVersion(block, [3], _owner);
        var a = ShardStateMachine.Decide(Update(next), block.ToByteArray());
        var b = ShardStateMachine.Decide(Update(next), block.ToByteArray());
        Assert.Equal(a.NewValue, b.NewValue);
        Assert.Equal(a.Result, b.Result);
    }
}
