using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards;

/// <summary>
/// Whether a stored <see cref="KvEntry"/> holds a reclaim key, read from its protobuf encoding without parsing it.
/// </summary>
/// <remarks>An entry read is served without its reclaim keys (they unlock the reclaim of its value blocks, ReclaimKeys), and
/// most entries have none: every value kept inline in its entry, the common small value, is stored without one. Parsing
/// every served entry to find that out cost a full parse per get (a value block, its byte strings, their lists), which the
/// reader then repeats. The walk reads only field headers and lengths; anything it does not expect (a malformed encoding,
/// a group) answers "maybe", and the caller then parses, as it did before.</remarks>
public static class KvEntryReclaimKeys
{
    private const int ReclaimKeyField = KvEntry.ReclaimKeyFieldNumber;
    private const int OlderVersionsField = KvEntry.OlderVersionsFieldNumber;

    /// <summary>
    /// False only when <paramref name="entry"/> is a well-formed encoding in which neither the entry nor any of its older
    /// versions has a non-empty reclaim key; true otherwise (a key present, or an encoding this walk does not follow).
    /// </summary>
    public static bool MayHoldAny(ReadOnlySpan<byte> entry) => MayHold(entry, nested: false);

    private static bool MayHold(ReadOnlySpan<byte> message, bool nested)
    {
        var position = 0;
        while (position < message.Length)
        {
            if (!TryReadVarint(message, ref position, out var tag))
            {
                return true;
            }
            var field = tag >> 3;
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(message, ref position, out _))
                    {
                        return true;
                    }
                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                    if (!TryReadVarint(message, ref position, out var length) || length > (ulong)(message.Length - position))
                    {
                        return true;
                    }
                    var body = message.Slice(position, (int)length);
                    position += (int)length;
                    if (field == ReclaimKeyField && body.Length > 0)
                    {
                        return true;
                    }
                    // Older versions carry keys of their own; theirs are never nested further (the parse path clears
                    // only these two levels too).
                    if (field == OlderVersionsField && !nested && MayHold(body, nested: true))
                    {
                        return true;
                    }
                    break;
                default:
                    return true;
            }
        }
        return position != message.Length;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int position, out ulong value)
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
}
