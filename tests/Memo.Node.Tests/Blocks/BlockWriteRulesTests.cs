using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Tests.Blocks;

public sealed class BlockWriteRulesTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _other = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _other.Dispose();
    }

    private static BlockWriteDecision.Rejected AssertRejected(BlockRejection expected, BlockWriteDecision decision)
    {
        var rejected = Assert.IsType<BlockWriteDecision.Rejected>(decision);
        Assert.Equal(expected, rejected.Kind);
        Assert.False(string.IsNullOrWhiteSpace(rejected.Reason));
        Assert.False(decision.IsSuccess);
        Assert.False(decision.ChangesState);
        return rejected;
    }

    // ---- insert ----

    [Fact]
    public void Insert_of_a_new_block_of_any_kind_stores_it()
    {
        Block[] blocks =
        [
            BlockFactory.MakeImmutable("x"u8, null),
            BlockFactory.MakeImmutable("x"u8, _owner.PublicKey),
            BlockFactory.MakeMutable(_owner, "x"u8),
            BlockFactory.MakeNamed(_owner, "n"u8, "x"u8),
        ];
        foreach (var block in blocks)
        {
            var decision = BlockWriteRules.DecideInsert(block, null);
            Assert.IsType<BlockWriteDecision.Store>(decision);
            Assert.True(decision.ChangesState);
            Assert.True(decision.IsSuccess);
        }
    }

    [Fact]
    public void Insert_of_an_identical_immutable_block_is_already_stored()
    {
        var block = BlockFactory.MakeImmutable("x"u8, _owner.PublicKey);
        var decision = BlockWriteRules.DecideInsert(block.Clone(), block);

        Assert.IsType<BlockWriteDecision.AlreadyStored>(decision);
        Assert.True(decision.IsSuccess);
        Assert.False(decision.ChangesState);
    }

    [Fact]
    public void Insert_of_an_immutable_block_sent_as_data_plain_matches_the_stored_one()
    {
        var block = BlockFactory.MakeImmutable("x"u8, null);
        var incoming = block.Clone();
        incoming.DataPlain = block.Data;

        Assert.IsType<BlockWriteDecision.AlreadyStored>(BlockWriteRules.DecideInsert(incoming, block));
    }

    [Fact]
    public void Insert_over_a_different_immutable_block_at_the_same_address_already_exists()
    {
        // Only a corrupted store can get here (the address hashes the content, and the incoming block is validated).
        var incoming = BlockFactory.MakeImmutable("x"u8, null);
        var stored = incoming.Clone();
        stored.Data = ByteString.CopyFromUtf8("y");

        Assert.IsType<BlockWriteDecision.AlreadyExists>(BlockWriteRules.DecideInsert(incoming, stored));
    }

    [Fact]
    public void Insert_of_a_block_whose_content_does_not_match_its_address_is_refused_before_the_stored_one_is_looked_at()
    {
        var stored = BlockFactory.MakeImmutable("x"u8, null);
        var forged = stored.Clone();
        forged.Data = ByteString.CopyFromUtf8("y");

        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideInsert(forged, stored));
        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideInsert(forged, null));
    }

    [Fact]
    public void Insert_and_update_run_the_full_validation_whoever_proposed_them()
    {
        // A mutable block whose data was changed after signing: well-formed, right address, wrong signature.
        var tampered = BlockFactory.MakeMutable(_owner, "v0"u8);
        tampered.Data = ByteString.CopyFromUtf8("evil");
        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideInsert(tampered, null));

        var stored = BlockFactory.MakeMutable(_owner, "v0"u8);
        var next = BlockFactory.NextVersion(stored, "v1"u8, _owner);
        next.Data = ByteString.CopyFromUtf8("evil");
        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideUpdate(next, stored));

        // A named block re-signed by another key at the owner's address.
        var named = BlockFactory.MakeNamed(_owner, "root"u8, "x"u8);
        named.Signature = ByteString.CopyFrom(_other.SignDigest(BlockSigning.SigningDigest(named)));
        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideInsert(named, null));

        // Oversized data is malformed, whoever sends it.
        var huge = BlockFactory.MakeImmutable("x"u8, null);
        huge.Data = ByteString.CopyFrom(new byte[BlockLimits.MaxDataBytes + 1]);
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideInsert(huge, null));
    }

    [Fact]
    public void Insert_over_an_existing_mutable_block_already_exists_even_when_newer()
    {
        var stored = BlockFactory.MakeMutable(_owner, "v0"u8);
        Assert.IsType<BlockWriteDecision.AlreadyExists>(BlockWriteRules.DecideInsert(stored.Clone(), stored));
        Assert.IsType<BlockWriteDecision.AlreadyExists>(BlockWriteRules.DecideInsert(BlockFactory.NextVersion(stored, "v1"u8, _owner), stored));
    }

    [Fact]
    public void Insert_over_an_existing_named_block_already_exists_because_it_is_write_once()
    {
        var stored = BlockFactory.MakeNamed(_owner, "root"u8, "first"u8);
        var second = BlockFactory.MakeNamed(_owner, "root"u8, "second"u8);

        var decision = BlockWriteRules.DecideInsert(second, stored);
        Assert.IsType<BlockWriteDecision.AlreadyExists>(decision);
        Assert.False(decision.IsSuccess);
    }

    [Fact]
    public void Insert_rechecks_the_cheap_invariants()
    {
        var unknown = BlockFactory.MakeImmutable("x"u8, null);
        unknown.Type = "XB";
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideInsert(unknown, null));

        var shortAddress = BlockFactory.MakeImmutable("x"u8, null);
        shortAddress.Address = ByteString.CopyFrom(new byte[31]);
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideInsert(shortAddress, null));

        var wrongFlag = BlockFactory.MakeMutable(_owner, "x"u8);
        wrongFlag.Type = "CHB";
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideInsert(wrongFlag, null));

        var unsigned = BlockFactory.MakeMutableUnsigned(_owner.PublicKey);
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideInsert(unsigned, null));
    }

    [Fact]
    public void Insert_with_a_stored_block_from_another_address_is_a_bug()
    {
        var a = BlockFactory.MakeImmutable("a"u8, null);
        var b = BlockFactory.MakeImmutable("b"u8, null);
        Assert.Throws<InvalidOperationException>(() => BlockWriteRules.DecideInsert(a, b));
    }

    // ---- update ----

    [Fact]
    public void Update_to_the_next_version_stores_it()
    {
        var stored = BlockFactory.MakeMutable(_owner, "v0"u8);
        var next = BlockFactory.NextVersion(stored, "v1"u8, _owner);

        var decision = BlockWriteRules.DecideUpdate(next, stored);
        Assert.IsType<BlockWriteDecision.Store>(decision);
        Assert.True(decision.ChangesState);
    }

    [Fact]
    public void Update_of_a_missing_block_is_not_found()
    {
        var block = BlockFactory.NextVersion(BlockFactory.MakeMutable(_owner, "v0"u8), "v1"u8, _owner);
        Assert.IsType<BlockWriteDecision.NotFound>(BlockWriteRules.DecideUpdate(block, null));
    }

    [Fact]
    public void Update_with_an_immutable_or_named_block_is_an_invalid_argument()
    {
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideUpdate(BlockFactory.MakeImmutable("x"u8, null), null));
        var named = BlockFactory.MakeNamed(_owner, "n"u8, "x"u8);
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideUpdate(named, named));
    }

    [Fact]
    public void Update_over_a_stored_block_of_another_kind_is_an_invalid_argument()
    {
        // Cannot happen with valid blocks (kinds derive addresses differently); guards a corrupted store.
        var incoming = BlockFactory.NextVersion(BlockFactory.MakeMutable(_owner, "v0"u8), "v1"u8, _owner);
        var stored = BlockFactory.MakeNamed(_owner, "n"u8, "x"u8);
        stored.Address = incoming.Address;

        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideUpdate(incoming, stored));
    }

    [Fact]
    public void Update_signed_by_another_key_is_permission_denied()
    {
        var stored = BlockFactory.MakeMutable(_owner, "v0"u8);
        var forged = stored.Clone();
        forged.Version = 1;
        forged.OwnerKey = ByteString.CopyFrom(_other.PublicKey.Spki.Span);
        // Signed by the wrong key; the validator refuses it too (the address binds the owner), the rules must as well.
        Assert.Equal(BlockCheckOutcome.Forged, BlockFactory.TrySeal(forged, _other).Outcome);
        Assert.False(forged.Signature.IsEmpty);

        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideUpdate(forged, stored));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public void Update_with_a_version_other_than_stored_plus_one_conflicts_with_the_stored_block(int storedVersion)
    {
        var stored = BlockFactory.MakeMutable(_owner, "v0"u8);
        for (var i = 0; i < storedVersion; i++)
        {
            stored = BlockFactory.NextVersion(stored, "v"u8, _owner);
        }
        foreach (var version in new long[] { 0, storedVersion, storedVersion + 2, long.MaxValue })
        {
            var incoming = stored.Clone();
            incoming.Version = version;
            BlockFactory.Seal(incoming, _owner);

            var conflict = Assert.IsType<BlockWriteDecision.Conflict>(BlockWriteRules.DecideUpdate(incoming, stored));
            Assert.Same(stored, conflict.Current);
            Assert.False(conflict.IsSuccess);
        }
    }

    [Fact]
    public void Update_of_a_block_at_the_last_version_conflicts()
    {
        var stored = BlockFactory.MakeMutable(_owner, "v0"u8);
        stored.Version = long.MaxValue;
        BlockFactory.Seal(stored, _owner);
        var restart = stored.Clone();
        restart.Version = 0;
        BlockFactory.Seal(restart, _owner);
        Assert.IsType<BlockWriteDecision.Conflict>(BlockWriteRules.DecideUpdate(restart, stored));

        // What an unchecked + 1 would give is a negative version: malformed before any comparison.
        var wrapped = stored.Clone();
        wrapped.Version = long.MinValue;
        AssertRejected(BlockRejection.InvalidArgument, BlockWriteRules.DecideUpdate(wrapped, stored));
    }

    [Fact]
    public void Update_with_a_stored_block_from_another_address_is_a_bug()
    {
        var a = BlockFactory.MakeMutable(_owner, "a"u8);
        var b = BlockFactory.MakeMutable(_owner, "b"u8);
        Assert.Throws<InvalidOperationException>(() => BlockWriteRules.DecideUpdate(BlockFactory.NextVersion(a, "x"u8, _owner), b));
    }

    // ---- delete ----

    [Fact]
    public void Delete_of_a_missing_block_is_not_found()
    {
        var block = BlockFactory.MakeMutable(_owner, "x"u8);
        var signature = BlockFactory.RemovalSignature(block, _owner);
        Assert.IsType<BlockWriteDecision.NotFound>(BlockWriteRules.DecideDelete(block.GetAddress(), signature, null));
    }

    [Fact]
    public void Delete_with_the_owners_removal_signature_removes_any_owned_kind()
    {
        Block[] blocks =
        [
            BlockFactory.MakeImmutable("x"u8, _owner.PublicKey),
            BlockFactory.MakeMutable(_owner, "x"u8),
            BlockFactory.NextVersion(BlockFactory.MakeMutable(_owner, "x"u8), "y"u8, _owner),
            BlockFactory.MakeNamed(_owner, "n"u8, "x"u8),
        ];
        foreach (var block in blocks)
        {
            var decision = BlockWriteRules.DecideDelete(block.GetAddress(), BlockFactory.RemovalSignature(block, _owner), block);
            Assert.IsType<BlockWriteDecision.Remove>(decision);
            Assert.True(decision.ChangesState);
        }
    }

    [Fact]
    public void Delete_without_a_signature_is_permission_denied()
    {
        var block = BlockFactory.MakeMutable(_owner, "x"u8);
        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideDelete(block.GetAddress(), [], block));
    }

    [Fact]
    public void Delete_with_another_keys_or_a_garbage_signature_is_permission_denied()
    {
        var block = BlockFactory.MakeMutable(_owner, "x"u8);
        var address = block.GetAddress();

        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideDelete(address, _other.Sign(BlockSigning.RemovalBytes(block)), block));
        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideDelete(address, new byte[64], block));
        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideDelete(address, new byte[3], block));
    }

    [Fact]
    public void Delete_with_a_removal_signature_for_an_older_version_is_permission_denied()
    {
        var v0 = BlockFactory.MakeMutable(_owner, "v0"u8);
        var v1 = BlockFactory.NextVersion(v0, "v1"u8, _owner);

        AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideDelete(v1.GetAddress(), BlockFactory.RemovalSignature(v0, _owner), v1));
    }

    [Fact]
    public void Delete_of_an_ownerless_immutable_block_is_permission_denied_for_everyone()
    {
        var block = BlockFactory.MakeImmutable("x"u8, null);
        var signature = _owner.Sign(BlockSigning.RemovalBytes(block));

        var rejected = AssertRejected(BlockRejection.PermissionDenied, BlockWriteRules.DecideDelete(block.GetAddress(), signature, block));
        Assert.Contains("ownerless", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Delete_with_a_stored_block_from_another_address_is_a_bug()
    {
        var a = BlockFactory.MakeImmutable("a"u8, _owner.PublicKey);
        var b = BlockFactory.MakeImmutable("b"u8, _owner.PublicKey);
        Assert.Throws<InvalidOperationException>(() => BlockWriteRules.DecideDelete(a.GetAddress(), BlockFactory.RemovalSignature(b, _owner), b));
    }

    // ---- determinism ----

    [Fact]
    public void Decisions_are_the_same_on_every_call()
    {
        var stored = BlockFactory.MakeMutable(_owner, "v0"u8);
        var next = BlockFactory.NextVersion(stored, "v1"u8, _owner);
        var removal = BlockFactory.RemovalSignature(stored, _owner);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(new BlockWriteDecision.Store(), BlockWriteRules.DecideUpdate(next, stored));
            Assert.Equal(new BlockWriteDecision.Conflict(stored), BlockWriteRules.DecideUpdate(stored, stored));
            Assert.Equal(new BlockWriteDecision.Remove(), BlockWriteRules.DecideDelete(stored.GetAddress(), removal, stored));
        }
    }
}
