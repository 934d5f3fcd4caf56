using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Tests.Blocks;

public sealed class BlockFactoryTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _other = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _other.Dispose();
    }

    [Fact]
    public void Immutable_block_has_the_documented_fields()
    {
        var block = BlockFactory.MakeImmutable("abc"u8, _owner.PublicKey);

        Assert.Equal("CHB", block.Type);
        Assert.Equal(BlockLimits.SaltBytes, block.Salt.Length);
        Assert.True(_owner.PublicKey.Matches(block.Owner.Span));
        Assert.Equal("abc", block.Data.ToStringUtf8());
        Assert.True(block.GetAddress().IsImmutable);
        Assert.Equal(BlockAddresses.Immutable(block.Salt.Span, block.Owner.Span, "abc"u8), block.GetAddress());
    }

    [Fact]
    public void Two_immutable_blocks_with_the_same_data_get_different_salts_and_addresses()
    {
        var a = BlockFactory.MakeImmutable("same"u8, null);
        var b = BlockFactory.MakeImmutable("same"u8, null);
        Assert.NotEqual(a.Salt, b.Salt);
        Assert.NotEqual(a.GetAddress(), b.GetAddress());
    }

    [Fact]
    public void Mutable_block_starts_at_version_zero_and_is_mutable()
    {
        var block = BlockFactory.MakeMutable(_owner, "v0"u8);

        Assert.Equal("OKB", block.Type);
        Assert.Equal(0, block.Version);
        Assert.False(block.GetAddress().IsImmutable);
        Assert.True(_owner.PublicKey.Matches(block.OwnerKey.Span));
        Assert.Equal(BlockLimits.SignatureBytes, block.Signature.Length);
    }

    [Fact]
    public void Named_block_lives_at_its_named_address()
    {
        var block = BlockFactory.MakeNamed(_owner, "root"u8, "entry"u8);

        Assert.Equal("NB", block.Type);
        Assert.Equal(BlockAddresses.Named(_owner.PublicKey, "root"u8), block.GetAddress());
        Assert.True(BlockValidator.Validate(block).IsValid);
    }

    [Fact]
    public void Named_block_needs_a_name_within_the_limit()
    {
        Assert.Throws<ArgumentException>(() => BlockFactory.MakeNamed(_owner, [], "x"u8));
        Assert.Throws<ArgumentException>(() => BlockFactory.MakeNamed(_owner, new byte[BlockLimits.MaxNameBytes + 1], "x"u8));
    }

    [Fact]
    public void Data_over_the_limit_is_refused()
    {
        var big = new byte[BlockLimits.MaxDataBytes + 1];
        Assert.Throws<ArgumentException>(() => BlockFactory.MakeImmutable(big, null));
        Assert.Throws<ArgumentException>(() => BlockFactory.MakeMutable(_owner, big));
    }

    [Fact]
    public void Next_version_chain_validates_and_keeps_the_address()
    {
        var block = BlockFactory.MakeMutable(_owner, "v0"u8);
        var address = block.GetAddress();
        for (var i = 1; i <= 5; i++)
        {
            var next = BlockFactory.NextVersion(block, System.Text.Encoding.UTF8.GetBytes($"v{i}"), _owner);
            Assert.Equal(i, next.Version);
            Assert.Equal(address, next.GetAddress());
            Assert.Equal($"v{i}", next.Data.ToStringUtf8());
            Assert.True(BlockValidator.ValidateAt(next, address).IsValid);
            Assert.Equal(i - 1, block.Version); // the previous version is not modified
            block = next;
        }
    }

    [Fact]
    public void Next_version_clears_the_deleted_flag_and_moves_data_plain_to_data()
    {
        var block = BlockFactory.MakeMutable(_owner, "v0"u8);
        block.Deleted = true;
        block.DataPlain = ByteString.CopyFromUtf8("plain");
        BlockFactory.Seal(block, _owner);

        var next = BlockFactory.NextVersion(block, "v1"u8, _owner);
        Assert.False(next.Deleted);
        Assert.Equal(Block.PayloadOneofCase.Data, next.PayloadCase);
        Assert.True(BlockValidator.Validate(next).IsValid);
    }

    [Fact]
    public void Next_version_refuses_another_owner_or_kind()
    {
        var okb = BlockFactory.MakeMutable(_owner, "v0"u8);
        Assert.Throws<ArgumentException>(() => BlockFactory.NextVersion(okb, "v1"u8, _other));
        Assert.Throws<ArgumentException>(() => BlockFactory.NextVersion(BlockFactory.MakeNamed(_owner, "n"u8, "d"u8), "v1"u8, _owner));
        okb.Version = long.MaxValue;
        Assert.Throws<ArgumentException>(() => BlockFactory.NextVersion(okb, "v1"u8, _owner));
    }

    [Fact]
    public void Seal_completes_an_immutable_block_without_address_or_salt()
    {
        var block = new Block { Type = "CHB", Data = ByteString.CopyFromUtf8("content") };
        BlockFactory.Seal(block, _owner);

        Assert.Equal(BlockLimits.SaltBytes, block.Salt.Length);
        Assert.True(block.Owner.IsEmpty);
        Assert.True(BlockValidator.Validate(block).IsValid);
    }

    [Fact]
    public void Seal_reports_an_immutable_block_whose_address_does_not_match()
    {
        var block = BlockFactory.MakeImmutable("content"u8, null);
        block.Data = ByteString.CopyFromUtf8("changed");

        Assert.Equal(BlockCheckOutcome.Forged, BlockFactory.TrySeal(block, _owner).Outcome);
        Assert.Throws<ArgumentException>(() => BlockFactory.Seal(block, _owner));
    }

    [Fact]
    public void Seal_signs_a_client_filled_mutable_block()
    {
        var block = BlockFactory.MakeMutableUnsigned(_owner.PublicKey);
        var address = block.GetAddress();
        block.Data = ByteString.CopyFromUtf8("client data");

        Assert.True(BlockFactory.TrySeal(block, _owner).IsValid);
        Assert.Equal(address, block.GetAddress());
    }

    [Fact]
    public void Seal_fills_owner_salt_and_address_of_a_bare_mutable_block()
    {
        var block = new Block { Type = "OKB", Data = ByteString.CopyFromUtf8("x") };
        BlockFactory.Seal(block, _owner);

        Assert.True(_owner.PublicKey.Matches(block.OwnerKey.Span));
        Assert.Equal(BlockLimits.SaltBytes, block.Salt.Length);
        Assert.True(BlockValidator.Validate(block).IsValid);
    }

    [Fact]
    public void Seal_fills_owner_and_address_of_a_bare_named_block()
    {
        var block = new Block { Type = "NB", Name = ByteString.CopyFromUtf8("root"), Data = ByteString.CopyFromUtf8("x") };
        BlockFactory.Seal(block, _owner);

        Assert.Equal(BlockAddresses.Named(_owner.PublicKey, "root"u8), block.GetAddress());
        Assert.True(BlockValidator.Validate(block).IsValid);
    }

    [Fact]
    public void Seal_refuses_to_sign_a_block_owned_by_another_key()
    {
        var block = BlockFactory.MakeMutableUnsigned(_other.PublicKey);
        block.Data = ByteString.CopyFromUtf8("x");

        var check = BlockFactory.TrySeal(block, _owner);
        Assert.Equal(BlockCheckOutcome.Forged, check.Outcome);
        Assert.True(block.Signature.IsEmpty);
        Assert.Throws<ArgumentException>(() => BlockFactory.Seal(block, _owner));
    }

    [Fact]
    public void Seal_reports_malformed_blocks_as_malformed()
    {
        Assert.Equal(BlockCheckOutcome.Malformed, BlockFactory.TrySeal(new Block { Type = "XYZ" }, _owner).Outcome);
        Assert.Equal(BlockCheckOutcome.Malformed, BlockFactory.TrySeal(new Block { Type = "NB" }, _owner).Outcome);
        var oversized = new Block { Type = "OKB", Data = ByteString.CopyFrom(new byte[BlockLimits.MaxDataBytes + 1]) };
        Assert.Equal(BlockCheckOutcome.Malformed, BlockFactory.TrySeal(oversized, _owner).Outcome);
    }

    [Theory]
    [InlineData("CHB")]
    [InlineData("OKB")]
    [InlineData("NB")]
    public void Removal_signature_verifies_only_for_the_owners_signature(string kind)
    {
        var block = kind switch
        {
            "CHB" => BlockFactory.MakeImmutable("x"u8, _owner.PublicKey),
            "OKB" => BlockFactory.MakeMutable(_owner, "x"u8),
            _ => BlockFactory.MakeNamed(_owner, "n"u8, "x"u8),
        };
        var signature = BlockFactory.RemovalSignature(block, _owner);

        Assert.True(BlockValidator.VerifyRemoval(block, signature));
        Assert.False(BlockValidator.VerifyRemoval(block, _other.Sign(BlockSigning.RemovalBytes(block))));
        Assert.False(BlockValidator.VerifyRemoval(block, []));
        Assert.False(BlockValidator.VerifyRemoval(block, new byte[64]));
        Assert.Throws<ArgumentException>(() => BlockFactory.RemovalSignature(block, _other));
    }

    [Fact]
    public void Removal_signature_is_bound_to_the_address()
    {
        var a = BlockFactory.MakeImmutable("x"u8, _owner.PublicKey);
        var b = BlockFactory.MakeImmutable("x"u8, _owner.PublicKey);
        Assert.False(BlockValidator.VerifyRemoval(b, BlockFactory.RemovalSignature(a, _owner)));
    }

    [Fact]
    public void Removal_signature_of_a_mutable_block_is_bound_to_its_version()
    {
        var v0 = BlockFactory.MakeMutable(_owner, "v0"u8);
        var v1 = BlockFactory.NextVersion(v0, "v1"u8, _owner);
        var removeV0 = BlockFactory.RemovalSignature(v0, _owner);

        Assert.True(BlockValidator.VerifyRemoval(v0, removeV0));
        Assert.False(BlockValidator.VerifyRemoval(v1, removeV0));
    }

    [Theory]
    [InlineData("NB")]
    [InlineData("OKB")]
    public void Removal_signature_of_one_creation_does_not_remove_the_block_created_again(string kind)
    {
        // The same address again: an NB's address is its owner and name; an OKB re-created at version 0 with its salt.
        var first = kind == "NB" ? BlockFactory.MakeNamed(_owner, "root"u8, "x"u8) : BlockFactory.MakeMutable(_owner, "x"u8);
        var again = first.Clone();
        BlockFactory.Seal(again, _owner); // a fresh signature of the same fields: a new creation
        Assert.Equal(first.Address, again.Address);
        Assert.NotEqual(first.Signature, again.Signature);

        var removeFirst = BlockFactory.RemovalSignature(first, _owner);
        Assert.True(BlockValidator.VerifyRemoval(first, removeFirst));
        Assert.False(BlockValidator.VerifyRemoval(again, removeFirst));
    }

    [Fact]
    public void Block_signature_is_not_a_removal_signature()
    {
        var block = BlockFactory.MakeMutable(_owner, "x"u8);
        Assert.False(BlockValidator.VerifyRemoval(block, block.Signature.Span));
    }

    [Fact]
    public void Ownerless_immutable_block_cannot_be_removed()
    {
        var block = BlockFactory.MakeImmutable("x"u8, null);
        Assert.Throws<ArgumentException>(() => BlockFactory.RemovalSignature(block, _owner));
        Assert.False(BlockValidator.VerifyRemoval(block, _owner.Sign(BlockSigning.RemovalBytes(block))));
    }

    [Fact]
    public void Mutable_signing_bytes_follow_the_documented_layout()
    {
        var block = BlockFactory.MakeMutable(_owner, "payload"u8);
        block.Version = 258;
        var owner = _owner.PublicKey.ToSpkiArray();
        var version = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(version, 258);
        byte[] expected =
        [
            .. "memo/okb/1\0"u8, .. block.Address.Span, .. version, 0,
            0, 0, 0, 7, .. "payload"u8, 0, 0, 0, (byte)owner.Length, .. owner,
        ];

        Assert.Equal(expected, BlockSigning.SigningBytes(block));
        Assert.Equal(SHA256.HashData(expected), BlockSigning.SigningDigest(block));
    }

    [Fact]
    public void Named_and_removal_bytes_follow_the_documented_layout()
    {
        var block = BlockFactory.MakeNamed(_owner, "nm"u8, "d"u8);
        var owner = _owner.PublicKey.ToSpkiArray();
        byte[] named = [.. "memo/nb/1\0"u8, .. block.Address.Span, 0, 0, 0, 2, .. "nm"u8, 0, 0, 0, 1, .. "d"u8, 0, 0, 0, (byte)owner.Length, .. owner];
        Assert.Equal(named, BlockSigning.SigningBytes(block));
        // Removal format 2: address, version (0 but for an OKB), then the stored block's own signature.
        Assert.Equal([.. "memo/remove/2\0"u8, .. block.Address.Span, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, .. block.Signature.Span],
            BlockSigning.RemovalBytes(block));

        var okb = BlockFactory.MakeMutable(_owner, "d"u8);
        okb = BlockFactory.NextVersion(okb, "e"u8, _owner);
        Assert.Equal([.. "memo/remove/2\0"u8, .. okb.Address.Span, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 64, .. okb.Signature.Span],
            BlockSigning.RemovalBytes(okb));

        var chb = BlockFactory.MakeImmutable("d"u8, _owner.PublicKey);
        Assert.Equal([.. "memo/remove/2\0"u8, .. chb.Address.Span, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], BlockSigning.RemovalBytes(chb));
    }

    [Fact]
    public void Immutable_blocks_have_no_signing_bytes()
    {
        Assert.Throws<ArgumentException>(() => BlockSigning.SigningBytes(BlockFactory.MakeImmutable("x"u8, null)));
    }

    [Fact]
    public void A_sharing_immutable_block_is_the_copying_one_with_its_data_over_the_callers_memory()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        var salt = RandomNumberGenerator.GetBytes(BlockLimits.SaltBytes);

        var sharing = BlockFactory.MakeImmutableSharing(data, null, salt);

        Assert.Equal(BlockFactory.MakeImmutable(data, null, salt), sharing);
        Assert.True(BlockValidator.Validate(sharing).IsValid);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(sharing.Data.Memory, out var shared));
        Assert.Same(data, shared.Array);
    }
}
