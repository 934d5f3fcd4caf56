using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Tests.Storage;

/// <summary>
/// <see cref="BlockHead"/>: a stored block's encoding less its payload, read through field headers only, from which a
/// reclaim is decided exactly as from the whole block.
/// </summary>
public sealed class BlockHeadTests
{
    // Reads from `bytes` and counts what it handed out.
    private sealed class CountingReader(byte[] bytes)
    {
        public long BytesRead { get; private set; }

        public int Read(long offset, Span<byte> into)
        {
            var count = (int)Math.Max(0, Math.Min(into.Length, bytes.Length - offset));
            bytes.AsSpan((int)offset, count).CopyTo(into);
            BytesRead += count;
            return count;
        }
    }

    private static byte[]? HeadOf(byte[] encoded) => BlockHead.Read(encoded.Length, new CountingReader(encoded).Read);

    [Fact]
    public void The_head_of_a_1_MiB_value_block_is_its_other_fields_read_without_the_payload_and_unlocks_the_same_reclaim()
    {
        using var owner = MemoKeyPair.Generate();
        var reclaimKey = ReclaimKeys.NewKey();
        var value = new byte[1024 * 1024];
        new Random(3).NextBytes(value);
        var block = BlockFactory.MakeImmutableSharing(value, owner.PublicKey, ReclaimKeys.SaltOf(reclaimKey));
        Assert.True(block.TryGetAddress(out var address));
        var encoded = block.ToByteArray();
        var reader = new CountingReader(encoded);

        var headBytes = BlockHead.Read(encoded.Length, reader.Read) ?? throw new InvalidOperationException("no head");

        Assert.True(reader.BytesRead < 1024, $"{reader.BytesRead} bytes read for the head of a {encoded.Length}-byte block");
        var head = Block.Parser.ParseFrom(headBytes);
        var expected = block.Clone();
        expected.ClearPayload();
        Assert.Equal(expected, head);
        Assert.IsType<BlockWriteDecision.Remove>(BlockWriteRules.DecideReclaim(address, reclaimKey, head));
        Assert.IsType<BlockWriteDecision.Rejected>(BlockWriteRules.DecideReclaim(address, ReclaimKeys.NewKey(), head));
    }

    [Fact]
    public void A_plain_payload_is_left_out_too_and_a_block_with_no_payload_is_its_whole_encoding()
    {
        var plain = new Block { Type = "CHB", Address = ByteString.CopyFrom(new byte[32]), DataPlain = ByteString.CopyFrom(new byte[5000]), Salt = ByteString.CopyFrom([1, 2, 3]), Format = 1 };
        var head = Block.Parser.ParseFrom(HeadOf(plain.ToByteArray()));
        Assert.Equal(Block.PayloadOneofCase.None, head.PayloadCase);
        Assert.Equal((plain.Salt, plain.Format), (head.Salt, head.Format));

        var bare = new Block { Type = "CHB", Salt = ByteString.CopyFrom([9]), Version = 300 };
        Assert.Equal(bare.ToByteArray(), HeadOf(bare.ToByteArray()));
        Assert.Equal(Array.Empty<byte>(), HeadOf([]));
    }

    [Theory]
    [InlineData("cut inside the payload")]
    [InlineData("length prefix past the end")]
    [InlineData("unterminated varint")]
    [InlineData("group wire type")]
    [InlineData("field number 0")]
    public void Bytes_that_are_not_well_formed_fields_give_no_head(string damage)
    {
        var encoded = new Block { Type = "CHB", Data = ByteString.CopyFrom(new byte[300]), Salt = ByteString.CopyFrom([1]) }.ToByteArray();
        byte[] bad = damage switch
        {
            "cut inside the payload" => encoded[..100],
            "length prefix past the end" => [0x1A, 0xE8, 0x07, 1, 2, 3], // field 3, 1000 bytes declared, 3 present
            "unterminated varint" => [0x08, 0xFF, 0xFF],
            "group wire type" => [0x1B, 0x1C],
            "field number 0" => [0x00, 0x01],
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };

        Assert.Null(HeadOf(bad));
    }
}
