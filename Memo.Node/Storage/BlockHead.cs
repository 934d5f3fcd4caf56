using System.Buffers;
using Memo.Protocol.ValueStore;

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
    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

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
        if (!TryReadVarint(header, out var tag, out var tagBytes) || tag >> 3 is 0 or > int.MaxValue)
        {
            return (null, false);
        }
        var field = (int)(tag >> 3);
        long length;
        var isPayload = false;
        switch ((int)(tag & 7))
        {
            case WireVarint:
                if (!TryReadVarint(header[tagBytes..], out _, out var valueBytes))
                {
                    return (null, false);
                }
                length = tagBytes + valueBytes;
                break;
            case WireFixed64:
                length = tagBytes + 8;
                break;
            case WireFixed32:
                length = tagBytes + 4;
                break;
            case WireLengthDelimited:
                if (!TryReadVarint(header[tagBytes..], out var size, out var prefixBytes) || size > (ulong)left)
                {
                    return (null, false);
                }
                length = tagBytes + prefixBytes + (long)size;
                isPayload = field is Block.DataFieldNumber or Block.DataPlainFieldNumber;
                break;
            default:
                return (null, false); // groups: never in a block
        }
        return length <= left ? (length, isPayload) : (null, false);
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, out ulong value, out int count)
    {
        value = 0;
        for (count = 0; count < bytes.Length && count < 10; count++)
        {
            value |= (ulong)(bytes[count] & 0x7F) << (7 * count);
            if ((bytes[count] & 0x80) == 0)
            {
                count++;
                return true;
            }
        }
        return false;
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
