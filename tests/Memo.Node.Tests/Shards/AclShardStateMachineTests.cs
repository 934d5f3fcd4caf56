using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Tests.Shards;

/// <summary>
/// Forged and out-of-order ACB and GB writes refused by the shard's state machine itself (what every replica decides
/// at apply, whoever proposed the command): a non-writer's data, an ACL change the owner did not sign, a version or
/// ACL rollback, a lower tombstone, a removal around the tombstone, a group rewriting its generations.
/// </summary>
public sealed class AclShardStateMachineTests : IDisposable
{
    private readonly MemoKeyPair _alice = MemoKeyPair.Generate();
    private readonly MemoKeyPair _bob = MemoKeyPair.Generate();
    private readonly MemoKeyPair _carol = MemoKeyPair.Generate();
    private readonly MemoKeyPair _mallory = MemoKeyPair.Generate();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _carol.Dispose();
        _mallory.Dispose();
    }

    private static ShardCommand Insert(Block block) => new() { Format = 1, InsertBlock = new InsertBlock { Block = block } };
    private static ShardCommand Update(Block block) => new() { Format = 1, UpdateBlock = new UpdateBlock { Block = block } };

    private AccessList BobReadsCarolWrites => AccessList.OwnerOnly
        .With(new AclGrant(_bob.PublicKey, Read: true, Write: false))
        .With(new AclGrant(_carol.PublicKey, Read: false, Write: true));

    private static ShardResult.Refused AssertRefused(BlockRejection kind, ShardDecision decision, string reasonPart)
    {
        var refused = Assert.IsType<ShardResult.Refused>(decision.Result);
        Assert.False(decision.Changed);
        Assert.Equal(kind, refused.Kind);
        Assert.Contains(reasonPart, refused.Reason);
        return refused;
    }

    private static Block Stored(ShardDecision decision)
    {
        Assert.IsType<ShardResult.BlockStored>(decision.Result);
        Assert.True(decision.Changed);
        Assert.Null(decision.Also); // ACBs keep no older versions
        return Block.Parser.ParseFrom(decision.NewValue);
    }

    [Fact]
    public void An_acb_is_inserted_and_a_writer_stores_the_next_version()
    {
        var v0 = Stored(ShardStateMachine.Decide(Insert(AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites)), null));
        var v1 = AclBlocks.Edit(v0, _carol, "v1"u8);

        Assert.Equal(v1, Stored(ShardStateMachine.Decide(Update(v1), v0.ToByteArray())));
    }

    [Fact]
    public void Data_signed_by_a_non_writer_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var forged = AclBlocks.Edit(v0, _carol, "v1 by mallory"u8);
        forged.EditorKey = ByteString.CopyFrom(_mallory.PublicKey.Spki.Span);
        forged.DataSignature = ByteString.CopyFrom(_mallory.SignDigest(AclSigning.DataDigest(forged)));

        AssertRefused(BlockRejection.PermissionDenied, ShardStateMachine.Decide(Update(forged), v0.ToByteArray()), "neither its owner nor a writer");
    }

    [Fact]
    public void An_acl_change_not_signed_by_the_owner_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var forged = AclBlocks.Edit(v0, _carol, "v1"u8);
        forged.Acl.RemoveAt(0); // carol drops bob from the ACL, keeping alice's signature of the old ACL
        forged.DataSignature = ByteString.CopyFrom(_carol.SignDigest(AclSigning.DataDigest(forged)));

        AssertRefused(BlockRejection.PermissionDenied, ShardStateMachine.Decide(Update(forged), v0.ToByteArray()), "ACL signature");
    }

    [Fact]
    public void An_owner_signed_acl_change_at_the_same_acl_version_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var v1 = AclBlocks.ChangeAccess(v0, _alice, AccessList.OwnerOnly, "v0"u8);
        // The same ACL version with another ACL: the owner signed it, but two ACLs under one version make ACL order ambiguous.
        v1.AclVersion = v0.AclVersion;
        v1.Signature = ByteString.CopyFrom(_alice.SignDigest(AclSigning.AclDigest(v1)));
        v1.DataSignature = ByteString.CopyFrom(_alice.SignDigest(AclSigning.DataDigest(v1)));

        AssertRefused(BlockRejection.PermissionDenied, ShardStateMachine.Decide(Update(v1), v0.ToByteArray()), "without a new ACL version");
    }

    [Fact]
    public void An_owner_signed_acl_change_stored_by_a_writer_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        // Alice's ACL change (adding mallory as a reader) lost a race to carol's version 1 and was never stored.
        var lost = AclBlocks.ChangeAccess(v0, _alice, AclBlocks.AccessOf(v0).With(new AclGrant(_mallory.PublicKey, true, false)), "v0"u8);
        var v1 = AclBlocks.Edit(v0, _carol, "v1"u8);
        Assert.IsType<ShardResult.BlockConflict>(ShardStateMachine.Decide(Update(lost), v1.ToByteArray()).Result);

        // Carol, a writer in that ACL too, stores it on top of version 1 with her own data: both signatures are valid.
        var replay = lost.Clone();
        replay.Version = 1;
        var forged = AclBlocks.Edit(replay, _carol, "carol chose when"u8);
        Assert.True(BlockValidator.Validate(forged).IsValid);

        AssertRefused(BlockRejection.PermissionDenied, ShardStateMachine.Decide(Update(forged), v1.ToByteArray()), "its owner writes");
    }

    [Fact]
    public void A_version_rollback_is_a_conflict_that_changes_nothing()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var v1 = AclBlocks.Edit(v0, _carol, "v1"u8);
        var v2 = AclBlocks.Edit(v1, _alice, "v2"u8);

        foreach (var replay in new[] { v0, v1, v2 })
        {
            var decision = ShardStateMachine.Decide(Update(replay), v2.ToByteArray());
            var conflict = Assert.IsType<ShardResult.BlockConflict>(decision.Result);
            Assert.False(decision.Changed);
            Assert.Equal(2, conflict.Current.Version);
        }
    }

    [Fact]
    public void A_removed_writer_replaying_the_old_acl_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var v1 = AclBlocks.ChangeAccess(v0, _alice, AclBlocks.AccessOf(v0).Without(_carol.PublicKey), "v0"u8);
        // Carol builds version 2 on the ACL of version 0, which still lists her as a writer (both signatures valid).
        var replay = v0.Clone();
        replay.Version = 1;
        var forged = AclBlocks.Edit(replay, _carol, "carol is back"u8);
        Assert.Equal(2, forged.Version);
        Assert.True(BlockValidator.Validate(forged).IsValid);

        AssertRefused(BlockRejection.PermissionDenied, ShardStateMachine.Decide(Update(forged), v1.ToByteArray()), "ACL rollback");
    }

    [Fact]
    public void The_owners_tombstone_at_the_next_version_is_stored_and_nothing_follows_it()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var v1 = AclBlocks.Edit(v0, _carol, "v1"u8);
        var tombstone = AclBlocks.Tombstone(v1, _alice);

        var stored = Stored(ShardStateMachine.Decide(Update(tombstone), v1.ToByteArray()));
        Assert.True(stored.Deleted);

        // Nothing after it: neither an edit at the next version nor an insert at the address.
        var after = tombstone.Clone();
        after.Deleted = false;
        var resurrect = AclBlocks.Edit(after, _alice, "again"u8);
        AssertRefused(BlockRejection.InvalidArgument, ShardStateMachine.Decide(Update(resurrect), stored.ToByteArray()), "was removed");
        Assert.IsType<ShardResult.BlockExists>(ShardStateMachine.Decide(Insert(v0), stored.ToByteArray()).Result);
    }

    [Fact]
    public void A_tombstone_with_a_lower_version_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var early = AclBlocks.Tombstone(v0, _alice); // version 1
        var v1 = AclBlocks.Edit(v0, _carol, "v1"u8);
        var v2 = AclBlocks.Edit(v1, _carol, "v2"u8);

        var decision = ShardStateMachine.Decide(Update(early), v2.ToByteArray());
        Assert.IsType<ShardResult.BlockConflict>(decision.Result);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void A_tombstone_signed_by_a_writer_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var forged = AclBlocks.Tombstone(v0, _alice);
        forged.DataSignature = ByteString.CopyFrom(_carol.SignDigest(AclSigning.DataDigest(forged)));

        AssertRefused(BlockRejection.PermissionDenied, ShardStateMachine.Decide(Update(forged), v0.ToByteArray()), "data signature");
    }

    [Fact]
    public void Deleting_an_acb_with_a_removal_signature_is_refused()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var delete = new ShardCommand
        {
            Format = 1,
            DeleteBlock = new DeleteBlock { Address = v0.Address, Signature = ByteString.CopyFrom(BlockFactory.RemovalSignature(v0, _alice)) },
        };

        AssertRefused(BlockRejection.InvalidArgument, ShardStateMachine.Decide(delete, v0.ToByteArray()), "tombstone");
    }

    [Fact]
    public void An_acb_cannot_replace_a_mutable_block_at_its_address()
    {
        var okb = BlockFactory.MakeMutable(_alice, "okb"u8);
        var acb = AclBlocks.Create(_alice, "acb"u8, AccessList.OwnerOnly);
        // The same salt gives the same address; built by hand, as an attacker owning the OKB's key could.
        var sameAddress = acb.Clone();
        sameAddress.Salt = okb.Salt;
        sameAddress.Address = okb.Address;
        sameAddress.Version = 1;
        var resealed = AclBlocks.ChangeAccess(sameAddress, _alice, AccessList.OwnerOnly, "x"u8); // signs ACL and data afresh
        Assert.True(BlockValidator.Validate(resealed).IsValid);

        AssertRefused(BlockRejection.InvalidArgument, ShardStateMachine.Decide(Update(resealed), okb.ToByteArray()), "not ACB");
    }

    [Fact]
    public void A_snapshot_installs_valid_acb_gb_and_tombstone_records_and_not_a_forged_acb()
    {
        var layout = new ShardLayout(1);
        var acb = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var group = GroupBlocks.Create(_alice, [_bob.PublicKey]);
        var tombstone = AclBlocks.Tombstone(acb, _alice);
        foreach (var block in new[] { acb, group, tombstone })
        {
            Assert.Null(ShardStateMachine.CheckRecord(ShardRecordKey.ForBlock(block.GetAddress()), block.ToByteArray(), new ShardId(0), layout));
        }

        var forged = AclBlocks.Edit(acb, _carol, "v1"u8);
        forged.EditorKey = ByteString.CopyFrom(_mallory.PublicKey.Spki.Span);
        forged.DataSignature = ByteString.CopyFrom(_mallory.SignDigest(AclSigning.DataDigest(forged)));
        Assert.Contains("Forged", ShardStateMachine.CheckRecord(ShardRecordKey.ForBlock(forged.GetAddress()), forged.ToByteArray(), new ShardId(0), layout), StringComparison.Ordinal);
    }

    [Fact]
    public void A_group_update_that_rewrites_a_generation_is_refused()
    {
        var group = GroupBlocks.Create(_alice, [_bob.PublicKey]);
        var rotated = GroupBlocks.RemoveMember(group, _alice, _bob.PublicKey);
        Assert.Equal(rotated, Stored(ShardStateMachine.Decide(Update(rotated), group.ToByteArray())));

        // The owner replaces generation 0's key (which would strand every ACB version wrapped for it).
        var rewritten = GroupBlocks.AddMember(rotated, _alice, _carol.PublicKey);
        rewritten.GroupGenerations[0].PublicKey = rewritten.GroupGenerations[1].PublicKey;
        rewritten.Signature = ByteString.CopyFrom(_alice.SignDigest(AclSigning.GroupDigest(rewritten)));
        AssertRefused(BlockRejection.PermissionDenied, ShardStateMachine.Decide(Update(rewritten), rotated.ToByteArray()), "append-only");
    }
}
