namespace Memo.Protocol.Wire;

/// <summary>
/// Reads protobuf field headers from an encoding without parsing the message: what a walk needs that looks for one field
/// (a block's payload, an entry's reclaim key) and skips the rest. One reader for every such walk, so they agree on what
/// is well formed: a tag with a field number of at least 1, a known wire type (groups are not), a value that ends inside
/// the bytes.
/// </summary>
public static class ProtobufFields
{
    /// <summary>Wire type of varint fields.</summary>
    public const int Varint = 0;
    /// <summary>Wire type of 8-byte fields.</summary>
    public const int Fixed64 = 1;
    /// <summary>Wire type of length-delimited fields (bytes, strings, messages).</summary>
    public const int LengthDelimited = 2;
    /// <summary>Wire type of 4-byte fields.</summary>
    public const int Fixed32 = 5;

    /// <summary>Reads a varint at <paramref name="position"/> and moves past it; false when it is cut short or longer
    /// than ten bytes.</summary>
    public static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < bytes.Length; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Reads the header of the field at <paramref name="position"/> and moves to its body: its number, its wire type
    /// and how many bytes its body has (a length-delimited field's length, a varint's own bytes, 8 or 4). False when the
    /// header is malformed or cut short, or the wire type is a group or unknown. The body is not checked to fit in
    /// <paramref name="bytes"/>, so a walk over a longer message can read headers from a window of it.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> bytes, ref int position, out int field, out int wireType, out ulong bodyLength)
    {
        field = wireType = 0;
        bodyLength = 0;
        if (!TryReadVarint(bytes, ref position, out var tag) || tag >> 3 is 0 or > int.MaxValue)
        {
            return false;
        }
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        switch (wireType)
        {
            case Varint:
                var end = position;
                if (!TryReadVarint(bytes, ref end, out _))
                {
                    return false;
                }
                bodyLength = (ulong)(end - position);
                return true;
            case Fixed64:
                bodyLength = 8;
                return true;
            case Fixed32:
                bodyLength = 4;
                return true;
            case LengthDelimited:
                return TryReadVarint(bytes, ref position, out bodyLength);
            default:
                return false;
        }
    }

    /// <summary>
    /// Reads the field at <paramref name="position"/> and moves past it: its number, its wire type and, for a
    /// length-delimited field, where its body starts and how long it is (otherwise the value's bytes). False when the
    /// header is malformed, the wire type is a group or unknown, or the field runs past <paramref name="bytes"/>.
    /// </summary>
    public static bool TrySkipField(ReadOnlySpan<byte> bytes, ref int position, out int field, out int wireType, out int bodyStart, out int bodyLength)
    {
        bodyStart = bodyLength = 0;
        if (!TryReadHeader(bytes, ref position, out field, out wireType, out var length) || length > (ulong)(bytes.Length - position))
        {
            return false;
        }
        bodyStart = position;
        bodyLength = (int)length;
        position += bodyLength;
        return true;
    }
}
