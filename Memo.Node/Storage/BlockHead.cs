using System.Buffers;
using Memo.Protocol.ValueStore;
using Memo.Protocol.Wire;

namespace Memo.Node.Storage;

/// <summary>
/// The head of a stored block: its protobuf encoding less the payload field (<c>Block.data</c> or <c>Block.data_plain</c>),
/// found by reading only the fields' headers. What a check of the block's other fields (a reclaim's salt and owner key)
/// needs, without reading a large value from its copy file.
/// </summary>
/// <remarks>Pure: the bytes come through a <see cref="ReadAt"/> callback (a file, or an array in tests). The result is
/// the stored fields in their stored order, each as it was encoded, so it parses as the same block with no payload.</remarks>
internal static class BlockHead
{
    // A field's tag (field numbers below 2^29: at most 5 bytes) and a length prefix (at most 10 bytes).
    private const int MaxFieldHeader = 15;

    /// <summary>Reads up to <paramref name="into"/>'s length bytes at <paramref name="offset"/>; returns how many it read (0 at the end).</summary>
    public delegate int ReadAt(long offset, Span<byte> into);

    /// <summary>
    /// The encoding of <paramref name="length"/> bytes read through <paramref name="readAt"/> without its payload field,
    /// or null when those bytes are not a sequence of well-formed protobuf fields (the caller then reads them whole, and
    /// the block's parser reports what is wrong).
    /// </summary>
    public static byte[]? Read(long length, ReadAt readAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var head = new ArrayBufferWriter<byte>(256);
        Span<byte> header = stackalloc byte[MaxFieldHeader];
        long position = 0;
        while (position < length)
        {
            var got = ReadFully(readAt, position, header[..(int)Math.Min(MaxFieldHeader, length - position)]);
            if (FieldLength(header[..got], length - position) is not ({ } fieldLength, var isPayload))
            {
                return null;
            }
            if (!isPayload)
            {
                var into = head.GetSpan((int)fieldLength)[..(int)fieldLength];
                if (ReadFully(readAt, position, into) != into.Length)
                {
                    return null;
                }
                head.Advance(into.Length);
            }
            position += fieldLength;
        }
        return head.WrittenSpan.ToArray();
    }

    // The whole length of the field whose header starts `header` (tag, then a length prefix or the value), and whether it
    // is the block's payload; null when the header is malformed or the field runs past the `left` bytes that remain.
    private static (long? Length, bool IsPayload) FieldLength(ReadOnlySpan<byte> header, long left)
    {
        // The header holds the tag and a length prefix or a varint value, not the body: so the shared reader's varints,
        // and the lengths checked here against what is left of the stored bytes.
        var position = 0;
        if (!ProtobufFields.TryReadVarint(header, ref position, out var tag) || tag >> 3 is 0 or > int.MaxValue)
        {
            return (null, false);
        }
        var field = (int)(tag >> 3);
        var isPayload = false;
        switch ((int)(tag & 7))
        {
            case ProtobufFields.Varint:
                if (!ProtobufFields.TryReadVarint(header, ref position, out _))
                {
                    return (null, false);
                }
                break;
            case ProtobufFields.Fixed64:
                position += 8;
                break;
            case ProtobufFields.Fixed32:
                position += 4;
                break;
            case ProtobufFields.LengthDelimited:
                if (!ProtobufFields.TryReadVarint(header, ref position, out var size) || size > (ulong)left)
                {
                    return (null, false);
                }
                isPayload = field is Block.DataFieldNumber or Block.DataPlainFieldNumber;
                return position + (long)size <= left ? (position + (long)size, isPayload) : (null, false);
            default:
                return (null, false); // groups: never in a block
        }
        return position <= left ? (position, isPayload) : (null, false);
    }

    private static int ReadFully(ReadAt readAt, long offset, Span<byte> into)
    {
        var done = 0;
        while (done < into.Length)
        {
            var read = readAt(offset + done, into[done..]);
            if (read <= 0)
            {
                break;
            }
            done += read;
        }
        return done;
    }
}
