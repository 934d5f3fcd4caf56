using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Tests.Blocks;

public sealed class BlockValidatorTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _other = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _other.Dispose();
    }

    public static TheoryData<string> Kinds => new() { "CHB-owned", "CHB-ownerless", "OKB", "NB" };

    private Block Make(string kind) => kind switch
    {
        "CHB-owned" => BlockFactory.MakeImmutable("immutable payload"u8, _owner.PublicKey),
        "CHB-ownerless" => BlockFactory.MakeImmutable("immutable payload"u8, null),
        "OKB" => BlockFactory.MakeMutable(_owner, "mutable payload"u8),
        "NB" => BlockFactory.MakeNamed(_owner, "root"u8, "named payload"u8),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static void AssertOutcome(BlockCheckOutcome expected, Block block)
    {
        var check = BlockValidator.Validate(block);
        Assert.True(check.Outcome == expected, $"expected {expected}, got {check}");
        Assert.Equal(expected == BlockCheckOutcome.Valid, check.IsValid);
        Assert.Equal(expected == BlockCheckOutcome.Valid, check.Reason is null);
    }

    private static ByteString Flip(ByteString bytes, int index = 0)
    {
        var copy = bytes.ToByteArray();
        copy[index % copy.Length] ^= 0x01;
        return ByteString.CopyFrom(copy);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Made_blocks_are_valid(string kind)
    {
        var block = Make(kind);
        AssertOutcome(BlockCheckOutcome.Valid, block);
        Assert.Equal(BlockCheckOutcome.Valid, BlockValidator.ValidateAt(block, block.GetAddress()).Outcome);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Blocks_survive_a_protobuf_round_trip(string kind)
    {
        var block = Make(kind);
        var parsed = Block.Parser.ParseFrom(block.ToByteArray());
        Assert.Equal(block, parsed);
        AssertOutcome(BlockCheckOutcome.Valid, parsed);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Data_plain_is_accepted_as_the_payload(string kind)
    {
        var block = Make(kind);
        block.DataPlain = block.Data;
        Assert.Equal(Block.PayloadOneofCase.DataPlain, block.PayloadCase);
        AssertOutcome(BlockCheckOutcome.Valid, block);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Tampered_data_is_forged(string kind)
    {
        var block = Make(kind);
        block.Data = Flip(block.Data, 3);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Removed_data_is_forged(string kind)
    {
        var block = Make(kind);
        block.ClearPayload();
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Tampered_address_is_forged(string kind)
    {
        var block = Make(kind);
        block.Address = Flip(block.Address, 7);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Flipped_mutability_flag_is_forged(string kind)
    {
        var block = Make(kind);
        block.Address = Flip(block.Address, BlockAddress.Length - 1);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Address_of_the_wrong_length_is_malformed(string kind)
    {
        var block = Make(kind);
        block.Address = ByteString.CopyFrom(block.Address.Span[..31]);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
        block.Address = ByteString.Empty;
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Unknown_type_is_malformed(string kind)
    {
        var block = Make(kind);
        block.Type = "XB";
        AssertOutcome(BlockCheckOutcome.Malformed, block);
        block.Type = "";
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Theory]
    [InlineData("CHB-owned", "OKB")]
    [InlineData("CHB-owned", "NB")]
    [InlineData("OKB", "CHB")]
    [InlineData("OKB", "NB")]
    [InlineData("NB", "CHB")]
    [InlineData("NB", "OKB")]
    public void Relabelled_type_is_not_valid(string kind, string newType)
    {
        var block = Make(kind);
        block.Type = newType;
        Assert.False(BlockValidator.Validate(block).IsValid);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Unsupported_format_is_malformed(string kind)
    {
        var block = Make(kind);
        block.Format = 1;
        AssertOutcome(BlockCheckOutcome.Valid, block);
        block.Format = 2;
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Theory]
    [InlineData("CHB-owned")]
    [InlineData("CHB-ownerless")]
    [InlineData("OKB")]
    public void Tampered_salt_is_forged(string kind)
    {
        var block = Make(kind);
        block.Salt = Flip(block.Salt, 5);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [InlineData("CHB-owned")]
    [InlineData("OKB")]
    public void Salt_of_the_wrong_length_is_malformed(string kind)
    {
        var block = Make(kind);
        block.Salt = ByteString.CopyFrom(block.Salt.Span[..16]);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Fact]
    public void Chb_owner_replaced_by_another_key_is_forged()
    {
        var block = Make("CHB-owned");
        block.Owner = ByteString.CopyFrom(_other.PublicKey.Spki.Span);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Fact]
    public void Chb_owner_removed_is_forged()
    {
        var block = Make("CHB-owned");
        block.Owner = ByteString.Empty;
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [InlineData("CHB-owned")]
    [InlineData("OKB")]
    [InlineData("NB")]
    public void Owner_key_that_does_not_parse_is_malformed(string kind)
    {
        var block = Make(kind);
        var corrupted = block.GetOwnerSpki().ToByteArray();
        corrupted[^1] ^= 1;
        if (kind.StartsWith("CHB", StringComparison.Ordinal))
        {
            block.Owner = ByteString.CopyFrom(corrupted);
        }
        else
        {
            block.OwnerKey = ByteString.CopyFrom(corrupted);
        }
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Theory]
    [InlineData("OKB")]
    [InlineData("NB")]
    public void Owner_key_replaced_by_another_key_is_forged(string kind)
    {
        var block = Make(kind);
        block.OwnerKey = ByteString.CopyFrom(_other.PublicKey.Spki.Span);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [InlineData("OKB")]
    [InlineData("NB")]
    public void Resealing_by_another_key_at_the_same_address_is_forged(string kind)
    {
        var block = Make(kind);
        block.OwnerKey = ByteString.CopyFrom(_other.PublicKey.Spki.Span);
        block.Signature = ByteString.CopyFrom(_other.SignDigest(BlockSigning.SigningDigest(block)));
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [InlineData("OKB")]
    [InlineData("NB")]
    public void Signature_by_another_key_is_forged(string kind)
    {
        var block = Make(kind);
        block.Signature = ByteString.CopyFrom(_other.SignDigest(BlockSigning.SigningDigest(block)));
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [InlineData("OKB")]
    [InlineData("NB")]
    public void Tampered_signature_is_forged(string kind)
    {
        var block = Make(kind);
        block.Signature = Flip(block.Signature, 40);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Theory]
    [InlineData("OKB")]
    [InlineData("NB")]
    public void Missing_or_truncated_signature_is_malformed(string kind)
    {
        var block = Make(kind);
        block.Signature = ByteString.CopyFrom(block.Signature.Span[..63]);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
        block.Signature = ByteString.Empty;
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Fact]
    public void Tampered_version_is_forged()
    {
        var block = Make("OKB");
        block.Version = 1;
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Fact]
    public void Negative_version_is_malformed()
    {
        var block = Make("OKB");
        block.Version = -1;
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Fact]
    public void Tampered_deleted_flag_is_forged()
    {
        var block = Make("OKB");
        block.Deleted = true;
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Fact]
    public void Tampered_name_is_forged()
    {
        var block = Make("NB");
        block.Name = Flip(block.Name, 0);
        AssertOutcome(BlockCheckOutcome.Forged, block);
    }

    [Fact]
    public void Name_missing_or_too_long_is_malformed()
    {
        var block = Make("NB");
        block.Name = ByteString.Empty;
        AssertOutcome(BlockCheckOutcome.Malformed, block);
        block.Name = ByteString.CopyFrom(new byte[BlockLimits.MaxNameBytes + 1]);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Fact]
    public void Name_of_the_maximum_length_is_valid()
    {
        var block = BlockFactory.MakeNamed(_owner, new byte[BlockLimits.MaxNameBytes], "x"u8);
        AssertOutcome(BlockCheckOutcome.Valid, block);
    }

    [Fact]
    public void Data_over_the_limit_is_malformed()
    {
        var block = Make("CHB-ownerless");
        block.Data = ByteString.CopyFrom(new byte[BlockLimits.MaxDataBytes + 1]);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Fact]
    public void Data_of_the_maximum_size_is_valid()
    {
        var data = new byte[BlockLimits.MaxDataBytes];
        data[^1] = 7;
        AssertOutcome(BlockCheckOutcome.Valid, BlockFactory.MakeImmutable(data, null));
        AssertOutcome(BlockCheckOutcome.Valid, BlockFactory.MakeMutable(_owner, data));
    }

    [Theory]
    [InlineData("signature")]
    [InlineData("name")]
    [InlineData("version")]
    [InlineData("deleted")]
    [InlineData("owner_key")]
    public void Chb_with_a_stray_field_is_malformed(string field)
    {
        var block = Make("CHB-owned");
        Set(block, field);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Theory]
    [InlineData("owner")]
    [InlineData("name")]
    public void Okb_with_a_stray_field_is_malformed(string field)
    {
        var block = Make("OKB");
        Set(block, field);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    [Theory]
    [InlineData("salt")]
    [InlineData("owner")]
    [InlineData("version")]
    [InlineData("deleted")]
    public void Nb_with_a_stray_field_is_malformed(string field)
    {
        var block = Make("NB");
        Set(block, field);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
    }

    private void Set(Block block, string field)
    {
        switch (field)
        {
            case "signature": block.Signature = ByteString.CopyFrom(new byte[64]); break;
            case "name": block.Name = ByteString.CopyFromUtf8("n"); break;
            case "version": block.Version = 1; break;
            case "deleted": block.Deleted = true; break;
            case "owner_key": block.OwnerKey = ByteString.CopyFrom(_owner.PublicKey.Spki.Span); break;
            case "owner": block.Owner = ByteString.CopyFrom(_owner.PublicKey.Spki.Span); break;
            case "salt": block.Salt = ByteString.CopyFrom(new byte[32]); break;
            default: throw new ArgumentOutOfRangeException(nameof(field));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Valid_block_at_another_address_than_requested_is_forged(string kind)
    {
        var block = Make(kind);
        var other = kind == "NB" ? BlockFactory.MakeNamed(_owner, "another name"u8, "x"u8) : Make(kind);

        var check = BlockValidator.ValidateAt(block, other.GetAddress());
        Assert.Equal(BlockCheckOutcome.Forged, check.Outcome);
    }

    [Fact]
    public void ValidateAt_reports_a_malformed_address_as_malformed()
    {
        var block = Make("OKB");
        var expected = block.GetAddress();
        block.Address = ByteString.Empty;
        Assert.Equal(BlockCheckOutcome.Malformed, BlockValidator.ValidateAt(block, expected).Outcome);
    }

    [Fact]
    public void Unsigned_mutable_block_is_malformed_until_sealed()
    {
        var block = BlockFactory.MakeMutableUnsigned(_owner.PublicKey);
        AssertOutcome(BlockCheckOutcome.Malformed, block);
        block.Data = ByteString.CopyFromUtf8("filled in by the client");
        BlockFactory.Seal(block, _owner);
        AssertOutcome(BlockCheckOutcome.Valid, block);
    }
}
