using Google.Protobuf;
using Memo.Protocol.ValueStore;
using Memo.Protocol.Wire;

namespace Memo.Protocol.Blocks;

/// <summary>
/// Parses a serialized <see cref="Block"/> whose payload (<c>data</c>) shares the caller's memory instead of being
/// copied: the same block <see cref="MessageParser{T}.ParseFrom(ReadOnlySpan{byte})"/> returns, without a second array
/// of the payload's size.
/// </summary>
/// <remarks>
/// Why: a 1 MiB value's block is parsed where it is received, checked and stored (a replica's copy, a copy read back,
/// a reclaim's stored block), and protobuf copies every <c>bytes</c> field into an array of its own: for large blocks
/// a large-object-heap array per parse. Only the fields around the payload are parsed here (a few hundred bytes); the
/// payload becomes a <see cref="ByteString"/> over a slice of <c>serialized</c>. The caller must therefore never change
/// <c>serialized</c> while the block is used (an array from the wire or the silo that nothing else writes).
/// A block this does not read the simple way (the payload absent or more than once, <c>data_plain</c>, groups,
/// anything malformed) is parsed by protobuf itself, so the result and the exceptions are protobuf's.
/// </remarks>
public static class SharedPayloadParser
{
    private const int DataField = 3;

    /// <summary>The block in <paramref name="serialized"/>, its payload a slice of it.</summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not a block.</exception>
    public static Block Parse(ReadOnlyMemory<byte> serialized)
    {
        if (!TryFindSinglePayload(serialized.Span, out var fieldStart, out var dataStart, out var dataEnd))
        {
            return Block.Parser.ParseFrom(serialized.Span);
        }
        // Everything but the payload field: small, parsed (and copied) the ordinary way.
        var span = serialized.Span;
        var rest = new byte[span.Length - (dataEnd - fieldStart)];
        span[..fieldStart].CopyTo(rest);
        span[dataEnd..].CopyTo(rest.AsSpan(fieldStart));
        var block = Block.Parser.ParseFrom(rest);
        block.Data = UnsafeByteOperations.UnsafeWrap(serialized[dataStart..dataEnd]);
        return block;
    }

    // Walks the top-level fields: true when field 3 (data) occurs exactly once and field 22 (data_plain, the other
    // member of the oneof) never, with where the field's tag starts and where its bytes start and end.
    private static bool TryFindSinglePayload(ReadOnlySpan<byte> bytes, out int fieldStart, out int dataStart, out int dataEnd)
    {
        fieldStart = dataStart = dataEnd = -1;
        var position = 0;
        while (position < bytes.Length)
        {
            var tagStart = position;
            // Groups (never written by this project) and anything malformed: protobuf decides.
            if (!ProtobufFields.TrySkipField(bytes, ref position, out var field, out var wireType, out var bodyStart, out var bodyLength))
            {
                return false;
            }
            if (field == DataField)
            {
                if (fieldStart >= 0 || wireType != ProtobufFields.LengthDelimited)
                {
                    return false;
                }
                (fieldStart, dataStart, dataEnd) = (tagStart, bodyStart, bodyStart + bodyLength);
            }
            else if (field == Block.DataPlainFieldNumber)
            {
                return false;
            }
        }
        return fieldStart >= 0;
    }
}
