using Memo.Node.Shards.Wire;
using Memo.Protocol.Wire;

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
            if (!ProtobufFields.TrySkipField(message, ref position, out var field, out var wireType, out var bodyStart, out var bodyLength))
            {
                return true;
            }
            if (wireType != ProtobufFields.LengthDelimited)
            {
                continue;
            }
            if (field == ReclaimKeyField && bodyLength > 0)
            {
                return true;
            }
            // Older versions carry keys of their own; theirs are never nested further (the parse path clears only these
            // two levels too).
            if (field == OlderVersionsField && !nested && MayHold(message.Slice(bodyStart, bodyLength), nested: true))
            {
                return true;
            }
        }
        return false;
    }
}
