using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Memo.Node.Tests.Fuzzing;

/// <summary>
/// Mutates protobuf requests, seeded. Structure-aware mutations work on a parsed message through its descriptor:
/// a field set to an edge value (empty, huge, negative, maximum, odd Unicode), cleared, or a sub-message replaced
/// by a random one; the result always serialises. Raw mutations work on the encoded bytes: bit flips, inserted,
/// deleted and duplicated ranges, truncation, appended fields with unknown numbers or wrong wire types, overlong
/// length prefixes, invalid UTF-8 in length-delimited fields, and plain random bytes; the result may not parse.
/// </summary>
internal sealed class ProtobufMutator(Random random)
{
    private static readonly string[] EdgeStrings =
    [
        "", "/", "//", "a/b/c/", "\0", "\u0001\u007f", "é", "日本語", "🦀🦀", "\uFEFF", "\u202Ekey", "..", "../etc/passwd",
        "%00", "k", "key", "key/", "\uFFFF", "\U0010FFFF", new string('a', 1024), new string('/', 300),
    ];

    /// <summary>A copy of <paramref name="seed"/> with one to four structure-aware mutations.</summary>
    public IMessage MutateStructure(IMessage seed)
    {
        // A parse of the encoding is a deep copy of any message type.
        var message = seed.Descriptor.Parser.ParseFrom(seed.ToByteString());
        var count = random.Next(1, 5);
        for (var i = 0; i < count; i++)
        {
            MutateOneField(message, depth: 0);
        }
        return message;
    }

    /// <summary>A random message of the given type (fields set at random, sub-messages to a small depth).</summary>
    public IMessage RandomMessage(MessageDescriptor descriptor, int depth = 0)
    {
        var message = descriptor.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            if (random.Next(3) == 0)
            {
                continue;
            }
            SetRandom(message, field, depth);
        }
        return message;
    }

    /// <summary><paramref name="encoded"/> with one to four raw byte mutations (or, rarely, replaced by random bytes).</summary>
    public byte[] MutateBytes(byte[] encoded)
    {
        if (random.Next(20) == 0)
        {
            return RandomBytes(random.Next(0, 512));
        }
        var bytes = new List<byte>(encoded);
        var count = random.Next(1, 5);
        for (var i = 0; i < count; i++)
        {
            switch (random.Next(9))
            {
                case 0 when bytes.Count > 0:
                    var at = random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.InsertRange(random.Next(bytes.Count + 1), RandomBytes(random.Next(1, 16)));
                    break;
                case 2 when bytes.Count > 0:
                    var start = random.Next(bytes.Count);
                    bytes.RemoveRange(start, random.Next(1, Math.Min(16, bytes.Count - start) + 1));
                    break;
                case 3 when bytes.Count > 0:
                    var cut = random.Next(bytes.Count);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
                case 4 when bytes.Count > 0:
                    var from = random.Next(bytes.Count);
                    var length = random.Next(1, Math.Min(64, bytes.Count - from) + 1);
                    bytes.InsertRange(random.Next(bytes.Count + 1), bytes.GetRange(from, length));
                    break;
                case 5:
                    bytes.AddRange(UnknownField());
                    break;
                case 6:
                    // A length-delimited field whose length runs past the end (or is absurd).
                    bytes.AddRange(Tag(random.Next(1, 40), wireType: 2));
                    bytes.AddRange(Varint(random.Next(2) == 0 ? (ulong)random.Next(1, 1 << 20) : ulong.MaxValue));
                    break;
                case 7:
                    bytes.AddRange(InvalidUtf8Field(random.Next(1, 5)));
                    break;
                default:
                    bytes.AddRange(RandomBytes(random.Next(1, 8)));
                    break;
            }
        }
        return [.. bytes];
    }

    /// <summary>A length-delimited field <paramref name="number"/> holding bytes that are not UTF-8.</summary>
    public byte[] InvalidUtf8Field(int number)
    {
        byte[][] invalid = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x6B, 0x80, 0x6B]];
        var payload = invalid[random.Next(invalid.Length)];
        return [.. Tag(number, wireType: 2), .. Varint((ulong)payload.Length), .. payload];
    }

    /// <summary>The tag of field <paramref name="number"/> with <paramref name="wireType"/>.</summary>
    public static byte[] Tag(int number, int wireType) => Varint(((ulong)number << 3) | (uint)wireType);

    /// <summary>A base-128 varint.</summary>
    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }

    private byte[] UnknownField()
    {
        var number = random.Next(2) == 0 ? random.Next(1, 64) : random.Next(1 << 20, 1 << 29);
        return random.Next(4) switch
        {
            0 => [.. Tag(number, 0), .. Varint((ulong)random.NextInt64())],
            1 => [.. Tag(number, 1), .. RandomBytes(8)],
            2 => [.. Tag(number, 5), .. RandomBytes(4)],
            // Wire types 3 and 4 (groups) and the invalid 6 and 7.
            _ => [.. Tag(number, random.Next(3, 8)), .. RandomBytes(random.Next(0, 6))],
        };
    }

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private void MutateOneField(IMessage message, int depth)
    {
        var fields = message.Descriptor.Fields.InFieldNumberOrder();
        if (fields.Count == 0)
        {
            return;
        }
        var field = fields[random.Next(fields.Count)];
        if (field.FieldType == FieldType.Message && !field.IsRepeated && field.Accessor.GetValue(message) is IMessage inner && random.Next(2) == 0 && depth < 3)
        {
            MutateOneField(inner, depth + 1);
            return;
        }
        if (random.Next(6) == 0)
        {
            field.Accessor.Clear(message);
            return;
        }
        SetRandom(message, field, depth);
    }

    private void SetRandom(IMessage message, FieldDescriptor field, int depth)
    {
        if (field.IsMap)
        {
            return;
        }
        if (field.IsRepeated)
        {
            var list = (System.Collections.IList)field.Accessor.GetValue(message);
            if (list.Count > 0 && random.Next(3) == 0)
            {
                list.RemoveAt(random.Next(list.Count));
                return;
            }
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                if (RandomValue(field, depth) is { } item)
                {
                    list.Add(item);
                }
            }
            return;
        }
        if (RandomValue(field, depth) is { } value)
        {
            field.Accessor.SetValue(message, value);
        }
    }

    private object? RandomValue(FieldDescriptor field, int depth) => field.FieldType switch
    {
        FieldType.String => RandomString(),
        FieldType.Bytes => RandomByteString(),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Pick(0L, 1L, -1L, long.MaxValue, long.MinValue, random.NextInt64(), (long)random.Next(0, 5)),
        FieldType.UInt64 or FieldType.Fixed64 => Pick(0UL, 1UL, ulong.MaxValue, (ulong)long.MaxValue, (ulong)long.MaxValue + 1, (ulong)random.NextInt64(), (ulong)random.Next(0, 2000)),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Pick(0, 1, -1, int.MaxValue, int.MinValue, random.Next()),
        FieldType.UInt32 or FieldType.Fixed32 => Pick(0U, 1U, 2U, uint.MaxValue, (uint)random.Next()),
        FieldType.Double => Pick(0.0, -1.0, double.NaN, double.PositiveInfinity, double.MaxValue),
        FieldType.Float => Pick(0f, -1f, float.NaN, float.NegativeInfinity),
        FieldType.Message when depth < 3 => RandomMessage(field.MessageType, depth + 1),
        _ => null,
    };

    private string RandomString() => random.Next(5) switch
    {
        0 => EdgeStrings[random.Next(EdgeStrings.Length)],
        1 => new string((char)random.Next(0x20, 0x7F), random.Next(0, 300)),
        // Over any key limit the node should have; still a well-formed string.
        2 => random.Next(4) == 0 ? new string('x', random.Next(4096, 70_000)) : Guid.NewGuid().ToString(),
        3 => RandomUnicode(random.Next(1, 40)),
        _ => "fuzz/" + random.Next(50).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private string RandomUnicode(int length)
    {
        var text = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var codePoint = random.Next(4) switch
            {
                0 => random.Next(0, 0x80),
                1 => random.Next(0x80, 0x800),
                2 => random.Next(0xE000, 0x10000),
                _ => random.Next(0x10000, 0x110000),
            };
            text.Append(char.ConvertFromUtf32(codePoint));
        }
        return text.ToString();
    }

    private ByteString RandomByteString() => random.Next(6) switch
    {
        0 => ByteString.Empty,
        1 => ByteString.CopyFrom(RandomBytes(32)),
        2 => ByteString.CopyFrom(RandomBytes(random.Next(1, 100))),
        3 => ByteString.CopyFrom(RandomBytes(random.Next(30, 35))),
        // Large payloads: near and over the node's request and value limits.
        4 => ByteString.CopyFrom(RandomBytes(random.Next(4) == 0 ? random.Next(1 << 20, 5 << 20) : random.Next(1000, 70_000))),
        _ => ByteString.CopyFrom(RandomBytes(random.Next(0, 200))),
    };

    private T Pick<T>(params T[] values) => values[random.Next(values.Length)];
}
