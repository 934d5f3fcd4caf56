using System.Runtime.InteropServices;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Tests.Blocks;

/// <summary>
/// <see cref="ImmutableBlockBuffer"/> against protobuf's own encoding (the naive model): the encoding it gives is
/// byte for byte <c>ToByteArray()</c>'s, in the buffer's own array when the block fits its room, and the data in the
/// buffer never changes.
/// </summary>
public sealed class ImmutableBlockBufferTests
{
    private static readonly MemoKeyPair Owner = MemoKeyPair.Generate();

    // Around the data length's varint sizes (1, 2, 3 and 4 bytes) and the sizes a key-value write sees.
    [Theory]
    [InlineData(0)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(4097)]
    [InlineData(16_383)]
    [InlineData(16_384)]
    [InlineData(1_048_576)]
    [InlineData(2_097_151)]
    [InlineData(2_097_152)]
    public void A_key_value_block_over_the_buffer_is_encoded_in_the_buffer_as_protobuf_encodes_it(int length)
    {
        var buffer = ImmutableBlockBuffer.Allocate(length);
        var data = Filled(buffer, length, seed: length);
        var block = BlockFactory.MakeImmutableSharing(buffer.Data, Owner.PublicKey, Salt(1));

        var encoding = ImmutableBlockBuffer.EncodingOf(block);

        Assert.Equal(block.ToByteArray(), encoding);
        Assert.True(MemoryMarshal.TryGetArray<byte>(buffer.Data, out var segment));
        Assert.Same(segment.Array, encoding);
        Assert.Equal(data, buffer.Data.ToArray());
        Assert.Equal(block, Block.Parser.ParseFrom(encoding));
        Assert.True(BlockValidator.ValidateAt(Block.Parser.ParseFrom(encoding), block.GetAddress()).IsValid);
    }

    [Fact]
    public void A_second_block_over_the_same_data_gets_an_array_of_its_own_and_leaves_the_first_encoding_alone()
    {
        var buffer = ImmutableBlockBuffer.Allocate(10_000);
        Filled(buffer, 10_000, seed: 2);
        var first = BlockFactory.MakeImmutableSharing(buffer.Data, Owner.PublicKey, Salt(1));
        var second = BlockFactory.MakeImmutableSharing(buffer.Data, Owner.PublicKey, Salt(2));

        var firstEncoding = ImmutableBlockBuffer.EncodingOf(first);
        var secondEncoding = ImmutableBlockBuffer.EncodingOf(second);

        Assert.NotSame(firstEncoding, secondEncoding);
        Assert.Equal(first.ToByteArray(), firstEncoding);
        Assert.Equal(second.ToByteArray(), secondEncoding);
        // The same block encoded again is a copy too: the room is filled once.
        Assert.NotSame(firstEncoding, ImmutableBlockBuffer.EncodingOf(first));
        Assert.Equal(firstEncoding, ImmutableBlockBuffer.EncodingOf(first));
    }

    [Fact]
    public void Blocks_that_do_not_fit_the_room_are_encoded_into_a_new_array_and_leave_the_room_to_one_that_fits()
    {
        var buffer = ImmutableBlockBuffer.Allocate(5000);
        Filled(buffer, 5000, seed: 3);
        Assert.True(MemoryMarshal.TryGetArray<byte>(buffer.Data, out var segment));
        var ownerless = BlockFactory.MakeImmutableSharing(buffer.Data, owner: null, Salt(1));
        var part = BlockFactory.MakeImmutableSharing(buffer.Data[..4999], Owner.PublicKey, Salt(1));
        var elsewhere = BlockFactory.MakeImmutable(buffer.Data.Span, Owner.PublicKey, Salt(1));
        var signed = BlockFactory.MakeImmutableSharing(buffer.Data, Owner.PublicKey, Salt(1));
        signed.Signature = ByteString.CopyFrom(new byte[64]); // a field after the owner: longer than the room

        foreach (var block in new[] { ownerless, part, elsewhere, signed })
        {
            var encoding = ImmutableBlockBuffer.EncodingOf(block);
            Assert.NotSame(segment.Array, encoding);
            Assert.Equal(block.ToByteArray(), encoding);
        }
        var fits = BlockFactory.MakeImmutableSharing(buffer.Data, Owner.PublicKey, Salt(1));
        Assert.Same(segment.Array, ImmutableBlockBuffer.EncodingOf(fits));
        Assert.Equal(fits.ToByteArray(), segment.Array);
    }

    [Fact]
    public void A_block_whose_data_lies_in_an_ordinary_array_is_encoded_as_protobuf_encodes_it()
    {
        var data = new byte[8192];
        new Random(4).NextBytes(data);
        var block = BlockFactory.MakeImmutableSharing(data, Owner.PublicKey, Salt(1));

        Assert.Equal(block.ToByteArray(), ImmutableBlockBuffer.EncodingOf(block));
    }

    private static byte[] Filled(ImmutableBlockBuffer buffer, int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        data.CopyTo(buffer.Data.Span);
        return data;
    }

    private static byte[] Salt(byte fill) => Enumerable.Repeat(fill, BlockLimits.SaltBytes).ToArray();
}
