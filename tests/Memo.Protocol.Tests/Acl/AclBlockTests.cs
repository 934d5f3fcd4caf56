using Google.Protobuf;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Tests.Acl;

public sealed class AclBlockTests : IDisposable
{
    private readonly MemoKeyPair _alice = MemoKeyPair.Generate();
    private readonly MemoKeyPair _bob = MemoKeyPair.Generate();
    private readonly MemoKeyPair _carol = MemoKeyPair.Generate();
    private readonly MemoKeyPair _dave = MemoKeyPair.Generate();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _carol.Dispose();
        _dave.Dispose();
    }

    private AccessList BobReadsCarolWrites => AccessList.OwnerOnly
        .With(new AclGrant(_bob.PublicKey, Read: true, Write: false))
        .With(new AclGrant(_carol.PublicKey, Read: false, Write: true));

    private static void AssertOutcome(BlockCheckOutcome expected, Block block)
    {
        var check = BlockValidator.Validate(block);
        Assert.True(check.Outcome == expected, $"expected {expected}, got {check}");
    }

    private static byte[]? Read(Block block, MemoKeyPair user, IReadOnlyDictionary<BlockAddress, Block>? groups = null) =>
        AclBlocks.TryRead(block, user, groups, out var data) ? data : null;

    [Fact]
    public void A_new_acb_is_valid_and_readable_by_its_owner_and_readers_only()
    {
        var block = AclBlocks.Create(_alice, "for bob"u8, BobReadsCarolWrites);

        AssertOutcome(BlockCheckOutcome.Valid, block);
        Assert.Equal(BlockKinds.AclType, block.Type);
        Assert.Equal("for bob"u8.ToArray(), Read(block, _alice));
        Assert.Equal("for bob"u8.ToArray(), Read(block, _bob));
        Assert.Null(Read(block, _carol)); // a writer that is not a reader
        Assert.Null(Read(block, _dave));  // not in the ACL
        Assert.DoesNotContain("for bob", System.Text.Encoding.UTF8.GetString(block.ToByteArray()));
    }

    [Fact]
    public void A_writer_signs_the_next_version_and_readers_read_it()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var v1 = AclBlocks.Edit(v0, _carol, "v1 by carol"u8);

        AssertOutcome(BlockCheckOutcome.Valid, v1);
        Assert.Equal(1, v1.Version);
        Assert.Equal(_carol.PublicKey, AclBlocks.EditorOf(v1));
        Assert.Equal(v0.Signature, v1.Signature); // the owner's ACL signature is kept as it is
        Assert.Equal("v1 by carol"u8.ToArray(), Read(v1, _bob));
        Assert.Equal("v1 by carol"u8.ToArray(), Read(v1, _alice));
    }

    [Fact]
    public void Someone_who_may_not_write_cannot_build_a_version()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);

        Assert.Throws<ArgumentException>(() => AclBlocks.Edit(v0, _bob, "bob is a reader"u8));
        Assert.Throws<ArgumentException>(() => AclBlocks.Edit(v0, _dave, "dave is nobody"u8));
    }

    [Fact]
    public void Data_signed_by_a_non_writer_is_forged()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var forged = AclBlocks.Edit(v0, _carol, "v1"u8);
        forged.EditorKey = ByteString.CopyFrom(_bob.PublicKey.Spki.Span);
        forged.DataSignature = ByteString.CopyFrom(_bob.SignDigest(AclSigning.DataDigest(forged)));

        var check = BlockValidator.Validate(forged);
        Assert.Equal(BlockCheckOutcome.Forged, check.Outcome);
        Assert.Contains("neither its owner nor a writer", check.Reason);
    }

    [Fact]
    public void A_world_writable_block_takes_data_signed_by_anyone()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, AccessList.OwnerOnly with { WorldWritable = true });
        var v1 = AclBlocks.Edit(v0, _dave, "dave was here"u8);

        AssertOutcome(BlockCheckOutcome.Valid, v1);
        Assert.Equal("dave was here"u8.ToArray(), Read(v1, _alice));
        Assert.Null(Read(v1, _dave)); // writing is not reading
    }

    [Fact]
    public void An_acl_change_not_signed_by_the_owner_is_forged()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        // Carol, a writer, gives herself read: she can sign the data, not the ACL.
        var forged = AclBlocks.Edit(v0, _carol, "v1"u8);
        forged.Acl[1].Read = true;
        forged.Acl[1].Token = ByteString.CopyFrom(new byte[114]);
        forged.DataSignature = ByteString.CopyFrom(_carol.SignDigest(AclSigning.DataDigest(forged)));

        var check = BlockValidator.Validate(forged);
        Assert.Equal(BlockCheckOutcome.Forged, check.Outcome);
        Assert.Contains("ACL signature", check.Reason);
    }

    [Fact]
    public void The_owner_changes_the_acl_with_a_new_acl_version()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var v1 = AclBlocks.ChangeAccess(v0, _alice, AclBlocks.AccessOf(v0).Without(_bob.PublicKey).With(new AclGrant(_dave.PublicKey, true, false)), "v0"u8);

        AssertOutcome(BlockCheckOutcome.Valid, v1);
        Assert.Equal(1, v1.AclVersion);
        Assert.Null(Read(v1, _bob));
        Assert.Equal("v0"u8.ToArray(), Read(v1, _dave));
        Assert.Throws<ArgumentException>(() => AclBlocks.ChangeAccess(v1, _carol, AccessList.OwnerOnly, "x"u8));
    }

    [Fact]
    public void A_tampered_ciphertext_or_token_is_forged()
    {
        var block = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var data = block.Data.ToByteArray();
        data[^1] ^= 1;
        var tamperedData = block.Clone();
        tamperedData.Data = ByteString.CopyFrom(data);
        AssertOutcome(BlockCheckOutcome.Forged, tamperedData);

        var tamperedToken = block.Clone();
        var token = tamperedToken.Acl[0].Token.ToByteArray();
        token[^1] ^= 1;
        tamperedToken.Acl[0].Token = ByteString.CopyFrom(token);
        AssertOutcome(BlockCheckOutcome.Forged, tamperedToken);
        Assert.Null(Read(tamperedToken, _bob)); // and the reader could not open it anyway
    }

    [Fact]
    public void A_tombstone_is_the_owners_and_carries_no_data()
    {
        var v0 = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        var tombstone = AclBlocks.Tombstone(v0, _alice);

        AssertOutcome(BlockCheckOutcome.Valid, tombstone);
        Assert.True(tombstone.Deleted);
        Assert.Equal(1, tombstone.Version);
        Assert.Null(Read(tombstone, _alice));
        Assert.Throws<ArgumentException>(() => AclBlocks.Tombstone(v0, _carol));

        // A writer's tombstone: signed by carol as editor, which a tombstone does not allow.
        var forged = tombstone.Clone();
        forged.EditorKey = ByteString.CopyFrom(_carol.PublicKey.Spki.Span);
        forged.DataSignature = ByteString.CopyFrom(_carol.SignDigest(AclSigning.DataDigest(forged)));
        AssertOutcome(BlockCheckOutcome.Malformed, forged);
        var unsigned = tombstone.Clone();
        unsigned.DataSignature = ByteString.CopyFrom(_carol.SignDigest(AclSigning.DataDigest(unsigned)));
        AssertOutcome(BlockCheckOutcome.Forged, unsigned);
    }

    [Fact]
    public void A_world_readable_block_stores_its_data_in_clear_and_wraps_nothing()
    {
        var block = AclBlocks.Create(_alice, "public"u8, BobReadsCarolWrites with { WorldReadable = true });

        AssertOutcome(BlockCheckOutcome.Valid, block);
        Assert.Equal("public"u8.ToArray(), block.Data.ToByteArray());
        Assert.True(block.OwnerToken.IsEmpty);
        Assert.Equal("public"u8.ToArray(), Read(block, _dave));
    }

    [Theory]
    [InlineData("stray owner")]
    [InlineData("missing reader token")]
    [InlineData("token for a non-reader")]
    [InlineData("owner in its own acl")]
    [InlineData("duplicate entry")]
    [InlineData("editor is the owner")]
    [InlineData("no data signature")]
    public void Structural_problems_are_malformed(string problem)
    {
        var block = AclBlocks.Create(_alice, "v0"u8, BobReadsCarolWrites);
        switch (problem)
        {
            case "stray owner": block.Owner = block.OwnerKey; break;
            case "missing reader token": block.Acl[0].Token = ByteString.Empty; break;
            case "token for a non-reader": block.Acl[1].Token = block.Acl[0].Token; break;
            case "owner in its own acl": block.Acl.Add(new AclEntry { Key = block.OwnerKey, Read = false, Write = true }); break;
            case "duplicate entry": block.Acl.Add(new AclEntry { Key = block.Acl[1].Key, Read = false, Write = true }); break;
            case "editor is the owner": block.EditorKey = block.OwnerKey; break;
            case "no data signature": block.DataSignature = ByteString.Empty; break;
        }
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Fact]
    public void Acb_fields_on_other_kinds_are_malformed()
    {
        var okb = BlockFactory.MakeMutable(_alice, "x"u8);
        okb.WorldReadable = true;
        AssertOutcome(BlockCheckOutcome.Malformed, okb);

        var named = BlockFactory.MakeNamed(_alice, "n"u8, "x"u8);
        named.Acl.Add(new AclEntry { Key = ByteString.CopyFrom(_bob.PublicKey.Spki.Span), Read = true });
        AssertOutcome(BlockCheckOutcome.Malformed, named);

        var chb = BlockFactory.MakeImmutable("x"u8, _alice.PublicKey);
        chb.DataSignature = ByteString.CopyFrom(new byte[64]);
        AssertOutcome(BlockCheckOutcome.Malformed, chb);
    }

    [Fact]
    public void A_group_member_reads_until_removed_and_then_only_older_versions()
    {
        var group = GroupBlocks.Create(_alice, [_bob.PublicKey, _dave.PublicKey]);
        AssertOutcome(BlockCheckOutcome.Valid, group);
        var groups = new Dictionary<BlockAddress, Block> { [group.GetAddress()] = group };
        var v0 = AclBlocks.Create(_alice, "v0 for the group"u8, AccessList.OwnerOnly.WithGroup(group.GetAddress()), groups);
        AssertOutcome(BlockCheckOutcome.Valid, v0);
        Assert.Equal("v0 for the group"u8.ToArray(), Read(v0, _bob, groups));
        Assert.Equal("v0 for the group"u8.ToArray(), Read(v0, _dave, groups));
        Assert.Null(Read(v0, _carol, groups));

        var rotated = GroupBlocks.RemoveMember(group, _alice, _bob.PublicKey);
        AssertOutcome(BlockCheckOutcome.Valid, rotated);
        Assert.Equal(2, rotated.GroupGenerations.Count);
        groups[group.GetAddress()] = rotated;
        var v1 = AclBlocks.Edit(v0, _alice, "v1 after bob left"u8, groups);

        Assert.Equal(1, v1.GroupAcl[0].Generation);
        Assert.Null(Read(v1, _bob, groups));
        Assert.Equal("v1 after bob left"u8.ToArray(), Read(v1, _dave, groups));
        // As in memo: the version written before the removal stays readable by the removed member.
        Assert.Equal("v0 for the group"u8.ToArray(), Read(v0, _bob, groups));
    }

    [Fact]
    public void A_member_added_to_a_group_reads_versions_wrapped_for_its_generation()
    {
        var group = GroupBlocks.Create(_alice, []);
        var groups = new Dictionary<BlockAddress, Block> { [group.GetAddress()] = group };
        var v0 = AclBlocks.Create(_alice, "v0"u8, AccessList.OwnerOnly.WithGroup(group.GetAddress()), groups);
        Assert.Null(Read(v0, _carol, groups));

        var grown = GroupBlocks.AddMember(group, _alice, _carol.PublicKey);
        AssertOutcome(BlockCheckOutcome.Valid, grown);
        groups[group.GetAddress()] = grown;

        Assert.Equal("v0"u8.ToArray(), Read(v0, _carol, groups));
        Assert.Equal([_alice.PublicKey, _carol.PublicKey], GroupBlocks.MembersOf(grown));
    }

    [Fact]
    public void A_group_block_changed_by_anyone_but_its_owner_is_forged()
    {
        var group = GroupBlocks.Create(_alice, [_bob.PublicKey]);
        Assert.Throws<ArgumentException>(() => GroupBlocks.AddMember(group, _bob, _dave.PublicKey));

        var forged = group.Clone();
        forged.GroupGenerations[0].Members.Add(new GroupMember { Key = ByteString.CopyFrom(_dave.PublicKey.Spki.Span), Token = ByteString.CopyFrom(new byte[200]) });
        AssertOutcome(BlockCheckOutcome.Forged, forged);
    }
}
