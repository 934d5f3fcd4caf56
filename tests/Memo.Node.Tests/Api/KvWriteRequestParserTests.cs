using System.Buffers;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Memo.Node.Api;
using Memo.Protocol.Blocks;
using Memo.Protocol.Kvs;
using Memo.Testing;

namespace Memo.Node.Tests.Api;

/// <summary>
/// <see cref="KvWriteRequestParser"/> against protobuf's own parser (the naive model): the same request for every input,
/// whatever segments the received bytes arrive in, the same exception for bytes that are not a request, and a large
/// value read into an <see cref="ImmutableBlockBuffer"/> whose block is then encoded in place.
/// </summary>
public sealed class KvWriteRequestParserTests
{
    private const int Inline = 4096;

    private static readonly Func<ReadOnlySequence<byte>, UpsertRequest> Parse =
        KvWriteRequestParser.For(UpsertRequest.Parser, (r, v) => r.Value = v, Inline);

    // Values around the inline limit, the length varint's sizes and the transport's 4 KiB and 16 KiB pieces; each
    // message cut into segments of several sizes, so headers and the value straddle segment ends.
    [Theory]
    [InlineData(4096, 4096)]
    [InlineData(4097, 4096)]
    [InlineData(16_383, 1)]
    [InlineData(16_384, 7)]
    [InlineData(16_385, 16_384)]
    [InlineData(1_048_576, 4096)]
    [InlineData(1_048_576, 16_384)]
    [InlineData(1_048_577, 1_000_000)]
    public void A_request_parses_as_protobuf_parses_it_whatever_its_segments(int valueLength, int segmentSize)
    {
        var value = new byte[valueLength];
        new Random(valueLength).NextBytes(value);
        var sent = new UpsertRequest { Key = "a/key-" + valueLength, Value = ByteString.CopyFrom(value) };
        var bytes = sent.ToByteArray();

        var parsed = Parse(SegmentedBytes.Of(bytes, segmentSize));

        Assert.Equal(sent, parsed);
        Assert.Equal(UpsertRequest.Parser.ParseFrom(bytes), parsed);
        Assert.True(MemoryMarshal.TryGetArray(parsed.Value.Memory, out var segment));
        // Above the inline limit the value lies inside a larger array (its block's encoding-to-be), otherwise in its own.
        Assert.Equal(valueLength > Inline, segment.Offset > 0);
    }

    [Fact]
    public void A_large_value_is_read_into_the_room_of_its_block_encoding_which_its_block_then_fills()
    {
        var value = new byte[300_000];
        new Random(5).NextBytes(value);
        var parsed = Parse(SegmentedBytes.Of(new UpsertRequest { Key = "k", Value = ByteString.CopyFrom(value) }.ToByteArray(), 4096));
        var block = BlockFactory.MakeImmutableSharing(parsed.Value.Memory, MemoKeyPair.Generate().PublicKey, new byte[BlockLimits.SaltBytes]);

        var encoding = ImmutableBlockBuffer.EncodingOf(block);

        Assert.True(MemoryMarshal.TryGetArray(parsed.Value.Memory, out var segment));
        Assert.Same(segment.Array, encoding);
        Assert.Equal(block.ToByteArray(), encoding);
        Assert.Equal(value, parsed.Value.ToByteArray());
    }

    [Fact]
    public void Unknown_fields_a_repeated_value_and_a_key_after_the_value_parse_as_protobuf_parses_them()
    {
        var value = new UpsertRequest { Value = ByteString.CopyFrom(Filled(10_000, 6)) }.ToByteArray();
        var other = new UpsertRequest { Value = ByteString.CopyFrom(Filled(9_000, 7)) }.ToByteArray();
        var key = new UpsertRequest { Key = "the-key" }.ToByteArray();
        // Unknown field 99 (varint), a fixed64 and a fixed32 field the request does not know, and unknown field 7 (bytes).
        var unknown = new byte[] { 0x98, 0x06, 0x2A, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x0D, 9, 9, 9, 9, 0x3A, 0x02, 0xAB, 0xCD };

        byte[][] inputs =
        [
            [.. value, .. key],                      // the key after the value
            [.. unknown, .. key, .. value, .. unknown],
            [.. key, .. value, .. other],            // the value twice: the last one wins (protobuf parses it)
            [.. key, .. key, .. value],              // the key twice
            [.. key],                                // no value
            [],
        ];
        foreach (var input in inputs)
        {
            foreach (var segmentSize in new[] { 1, 3, 4096, int.MaxValue })
            {
                var parsed = Parse(SegmentedBytes.Of(input, segmentSize));
                Assert.Equal(UpsertRequest.Parser.ParseFrom(input), parsed);
            }
        }
    }

    [Fact]
    public void Malformed_bytes_end_as_protobuf_ends_them()
    {
        var serialized = new UpsertRequest { Key = "k", Value = ByteString.CopyFrom(Filled(5000, 8)) }.ToByteArray();
        byte[][] inputs =
        [
            serialized[..^1],                                       // cut inside the value
            [0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],                    // a value longer than the input
            [0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // a varint over 10 bytes
            [0x10, 0x05],                                           // the value as a varint
            [0x13, 0x14],                                           // the value as a group
            [0x00, 0x01],                                           // field 0
            [.. serialized, 0x0A],                                  // a key's tag and nothing after it
        ];
        foreach (var input in inputs)
        {
            var expected = Record.Exception(() => UpsertRequest.Parser.ParseFrom(input));
            var actual = Record.Exception(() => Parse(SegmentedBytes.Of(input, 4096)));
            if (expected is null)
            {
                Assert.Null(actual);
                Assert.Equal(UpsertRequest.Parser.ParseFrom(input), Parse(SegmentedBytes.Of(input, 4096)));
            }
            else
            {
                Assert.NotNull(actual);
                Assert.Equal(expected.GetType(), actual.GetType());
            }
        }
    }

    private static byte[] Filled(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
