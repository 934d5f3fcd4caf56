using System.Runtime.InteropServices;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Xunit.Abstractions;

namespace Memo.Protocol.Tests.Blocks;

/// <summary>
/// <see cref="SharedPayloadParser"/> against protobuf's own parser (the naive model): the same block for every input,
/// the same exception for bytes that are not a block, and the payload a slice of the input rather than a copy.
/// </summary>
public sealed class SharedPayloadParserTests(ITestOutputHelper output)
{
    [Fact]
    public void A_value_block_parses_as_protobuf_parses_it_with_its_payload_a_slice_of_the_input()
    {
        var data = new byte[200_000];
        new Random(1).NextBytes(data);
        var block = BlockFactory.MakeImmutable(data, owner: null);
        var serialized = block.ToByteArray();

        var parsed = SharedPayloadParser.Parse(serialized);

        Assert.Equal(Block.Parser.ParseFrom(serialized), parsed);
        Assert.True(BlockValidator.ValidateAt(parsed, block.GetAddress()).IsValid);
        Assert.True(MemoryMarshal.TryGetArray(parsed.Data.Memory, out var shared));
        Assert.Same(serialized, shared.Array);
        Assert.Equal(serialized, parsed.ToByteArray());
    }

    [Fact]
    public void Blocks_without_a_single_data_field_are_parsed_by_protobuf_with_the_same_result()
    {
        var plain = new Block { Type = "CHB", Address = Bytes(32, 2), DataPlain = Bytes(1000, 3) };
        var empty = new Block { Type = "CHB", Address = Bytes(32, 4) };
        var first = new Block { Data = Bytes(10, 5) }.ToByteArray();
        var second = new Block { Type = "CHB", Data = Bytes(20, 6) }.ToByteArray();
        var thenPlain = new Block { DataPlain = Bytes(30, 7) }.ToByteArray();
        // Unknown field 99 (varint), a fixed64 and a fixed32 field the block does not know, around the payload.
        var unknown = new byte[] { 0x98, 0x06, 0x2A, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x0D, 9, 9, 9, 9 };

        byte[][] inputs =
        [
            plain.ToByteArray(),
            empty.ToByteArray(),
            [],
            [.. first, .. second],    // data twice: the last one wins
            [.. first, .. thenPlain], // data, then data_plain: the oneof holds data_plain
            [.. unknown, .. first, .. unknown],
        ];
        foreach (var input in inputs)
        {
            Assert.Equal(Block.Parser.ParseFrom(input), SharedPayloadParser.Parse(input));
        }
    }

    [Fact]
    public void Malformed_and_odd_bytes_end_as_protobuf_ends_them()
    {
        var serialized = BlockFactory.MakeImmutable(Bytes(5000, 8).ToByteArray(), owner: null).ToByteArray();
        byte[][] inputs =
        [
            serialized[..^1],                           // cut inside the payload
            [0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],        // data longer than the input
            [0x1A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // a varint over 10 bytes
            [0x1B, 0x1C],                                // field 3 as a group (protobuf skips it as unknown)
            [0x00, 0x01],                                // field 0
        ];
        foreach (var input in inputs)
        {
            var expected = Record.Exception(() => Block.Parser.ParseFrom(input));
            var actual = Record.Exception(() => SharedPayloadParser.Parse(input));
            if (expected is null)
            {
                Assert.Null(actual);
                Assert.Equal(Block.Parser.ParseFrom(input), SharedPayloadParser.Parse(input));
            }
            else
            {
                Assert.IsType<InvalidProtocolBufferException>(expected);
                Assert.IsType<InvalidProtocolBufferException>(actual);
            }
        }
        // The first three at least are refused (the cut, the overlong length, the overlong varint).
        Assert.All(inputs[..3], input => Assert.Throws<InvalidProtocolBufferException>(() => SharedPayloadParser.Parse(input)));
    }

    [Fact]
    public void Random_blocks_and_their_random_damage_parse_exactly_as_protobuf_parses_them()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (var i = 0; i < 2000; i++)
        {
            var block = new Block { Type = random.Next(2) == 0 ? "CHB" : "OKB", Address = Bytes(32, random.Next()), Version = random.Next(3) };
            if (random.Next(4) != 0)
            {
                block.Data = Bytes(random.Next(0, 3000), random.Next());
            }
            if (random.Next(3) == 0)
            {
                block.Owner = Bytes(91, random.Next());
            }
            var bytes = block.ToByteArray();
            switch (random.Next(3))
            {
                case 0:
                    bytes = bytes[..random.Next(bytes.Length + 1)];
                    break;
                case 1 when bytes.Length > 0:
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    break;
            }

            var expected = Record.Exception(() => Block.Parser.ParseFrom(bytes));
            var actual = Record.Exception(() => SharedPayloadParser.Parse(bytes));
            Assert.True((expected is null) == (actual is null), $"seed {seed}, case {i}: protobuf threw {expected?.GetType().Name ?? "nothing"}, the parser {actual?.GetType().Name ?? "nothing"}");
            if (expected is null)
            {
                Assert.Equal(Block.Parser.ParseFrom(bytes), SharedPayloadParser.Parse(bytes));
            }
            else
            {
                Assert.IsType(expected.GetType(), actual);
            }
        }
    }

    private static ByteString Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }
}
