using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Tests.Blocks;

/// <summary>
/// Any single bit flip in what a sealed block's address or signature covers is detected. FsCheck prints the
/// failing case and its replay seed on failure.
/// </summary>
public sealed class BlockTamperPropertyTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly Block[] _blocks;

    public BlockTamperPropertyTests()
    {
        var okb = BlockFactory.MakeMutable(_owner, "mutable payload, version zero"u8);
        okb = BlockFactory.NextVersion(okb, "mutable payload, version one"u8, _owner);
        var deleted = okb.Clone();
        deleted.Deleted = true;
        BlockFactory.Seal(deleted, _owner);
        _blocks =
        [
            BlockFactory.MakeImmutable("owned immutable payload"u8, _owner.PublicKey),
            BlockFactory.MakeImmutable("ownerless immutable payload"u8, null),
            BlockFactory.MakeMutable(_owner, "mutable payload, version zero"u8),
            okb,
            deleted,
            BlockFactory.MakeNamed(_owner, "a name"u8, "named payload"u8),
        ];
        Assert.All(_blocks, b => Assert.True(BlockValidator.Validate(b).IsValid));
    }

    public void Dispose() => _owner.Dispose();

    /// <summary>One tampering: which fixture block, which covered field, which bit of it.</summary>
    public sealed record Flip(int Block, string Field, int Bit);

    // The fields each kind's address or signature covers. Type is covered because a relabelled block is checked
    // against another kind's rules; format is not covered: 0 and 1 both mean format 1.
    private static string[] CoveredFields(Block block) => block.Type switch
    {
        "CHB" => block.Owner.IsEmpty
            ? ["type", "address", "salt", "data", "version", "deleted"]
            : ["type", "address", "salt", "owner", "data", "version", "deleted"],
        "OKB" => ["type", "address", "salt", "owner_key", "data", "version", "deleted", "signature"],
        _ => ["type", "address", "name", "owner_key", "data", "version", "deleted", "signature"],
    };

    private static int BitLength(Block block, string field) => field switch
    {
        "type" => block.Type.Length * 7, // ASCII: flip bits 0..6 of a character
        "version" => 64,
        "deleted" => 1,
        "address" => block.Address.Length * 8,
        "salt" => block.Salt.Length * 8,
        "owner" => block.Owner.Length * 8,
        "owner_key" => block.OwnerKey.Length * 8,
        "data" => block.Data.Length * 8,
        "name" => block.Name.Length * 8,
        "signature" => block.Signature.Length * 8,
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    private static Block Apply(Block original, string field, int bit)
    {
        var block = original.Clone();
        switch (field)
        {
            case "type":
                var chars = block.Type.ToCharArray();
                chars[bit / 7] = (char)(chars[bit / 7] ^ (1 << (bit % 7)));
                block.Type = new string(chars);
                break;
            case "version": block.Version ^= 1L << bit; break;
            case "deleted": block.Deleted = !block.Deleted; break;
            case "address": block.Address = FlipBit(block.Address, bit); break;
            case "salt": block.Salt = FlipBit(block.Salt, bit); break;
            case "owner": block.Owner = FlipBit(block.Owner, bit); break;
            case "owner_key": block.OwnerKey = FlipBit(block.OwnerKey, bit); break;
            case "data": block.Data = FlipBit(block.Data, bit); break;
            case "name": block.Name = FlipBit(block.Name, bit); break;
            case "signature": block.Signature = FlipBit(block.Signature, bit); break;
            default: throw new ArgumentOutOfRangeException(nameof(field));
        }
        return block;
    }

    private static ByteString FlipBit(ByteString bytes, int bit)
    {
        var copy = bytes.ToByteArray();
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return ByteString.CopyFrom(copy);
    }

    [Fact]
    public void Any_single_bit_flip_in_a_covered_field_is_detected()
    {
        var flips =
            from index in Gen.Choose(0, _blocks.Length - 1)
            let fields = CoveredFields(_blocks[index])
            from fieldIndex in Gen.Choose(0, fields.Length - 1)
            let field = fields[fieldIndex]
            from bit in Gen.Choose(0, BitLength(_blocks[index], field) - 1)
            select new Flip(index, field, bit);

        Prop.ForAll(flips.ToArbitrary(), flip =>
                !BlockValidator.Validate(Apply(_blocks[flip.Block], flip.Field, flip.Bit)).IsValid)
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Any_single_bit_flip_in_the_wire_encoding_is_detected_or_harmless()
    {
        var flips =
            from index in Gen.Choose(0, _blocks.Length - 1)
            from bit in Gen.Choose(0, (_blocks[index].CalculateSize() * 8) - 1)
            select new Flip(index, "wire", bit);

        Prop.ForAll(flips.ToArbitrary(), flip => WireFlipIsDetectedOrHarmless(_blocks[flip.Block], flip.Bit))
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Every_single_bit_flip_in_the_wire_encoding_is_detected_or_harmless()
    {
        foreach (var block in _blocks)
        {
            var bits = block.CalculateSize() * 8;
            for (var bit = 0; bit < bits; bit++)
            {
                Assert.True(WireFlipIsDetectedOrHarmless(block, bit), $"{block.Type} wire bit {bit} flipped and still valid with other content");
            }
        }
    }

    // A flipped encoding must fail to parse, fail validation, or decode to the same block (e.g. a bool varint
    // 1 -> 3 still reads as true). "Same" ignores the unsigned format field (0 and 1 mean the same format).
    private static bool WireFlipIsDetectedOrHarmless(Block original, int bit)
    {
        var wire = original.ToByteArray();
        wire[bit / 8] ^= (byte)(1 << (bit % 8));
        Block parsed;
        try
        {
            parsed = Block.Parser.ParseFrom(wire);
        }
        catch (InvalidProtocolBufferException)
        {
            return true;
        }
        if (!BlockValidator.Validate(parsed).IsValid)
        {
            return true;
        }
        var normalised = parsed.Clone();
        normalised.Format = original.Format;
        return normalised.Equals(original);
    }
}
