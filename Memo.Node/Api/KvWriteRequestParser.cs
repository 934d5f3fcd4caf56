using System.Buffers;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.Wire;

namespace Memo.Node.Api;

/// <summary>
/// Parses a key-value write request (Insert, Update, Upsert: <c>string key = 1; bytes value = 2;</c>) whose value is
/// larger than a key's inline values straight from the received bytes into an <see cref="ImmutableBlockBuffer"/>, so
/// the value block's encoding later fills the room around it instead of copying the value a second time
/// (docs/performance.md, "Large values"). The request is the one protobuf would parse, its value a slice of that buffer.
/// </summary>
/// <remarks>
/// Only the value is read here; every other field (the key, unknown fields) is parsed by protobuf from the bytes around
/// it. A request this does not read the simple way (the value field absent, repeated or not length-delimited, groups,
/// anything malformed) or whose value is at most <c>inlineValueBytes</c> is parsed by protobuf itself, so the result and
/// the exceptions are protobuf's.
/// </remarks>
internal static class KvWriteRequestParser
{
    private const int ValueField = 2;

    // A field header is a tag and, for a length-delimited field, a length: two varints of at most 10 bytes each.
    private const int MaxHeaderBytes = 20;

    /// <summary>
    /// A request parser for <typeparamref name="TRequest"/>: <paramref name="setValue"/> sets the parsed request's value.
    /// </summary>
    public static Func<ReadOnlySequence<byte>, TRequest> For<TRequest>(MessageParser<TRequest> parser, Action<TRequest, ByteString> setValue, long inlineValueBytes)
        where TRequest : IMessage<TRequest>
    {
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(setValue);
        return payload => Parse(payload, parser, setValue, inlineValueBytes);
    }

    private static TRequest Parse<TRequest>(ReadOnlySequence<byte> payload, MessageParser<TRequest> parser, Action<TRequest, ByteString> setValue, long inlineValueBytes)
        where TRequest : IMessage<TRequest>
    {
        // A message no longer than the inline limit cannot hold a larger value: small writes skip the walk.
        if (payload.Length <= inlineValueBytes
            || !TryFindSingleValue(payload, out var fieldStart, out var valueStart, out var valueLength)
            || valueLength <= inlineValueBytes
            || valueLength > BlockLimits.MaxDataBytes)
        {
            return parser.ParseFrom(payload);
        }
        var buffer = ImmutableBlockBuffer.Allocate((int)valueLength);
        payload.Slice(valueStart, valueLength).CopyTo(buffer.Data.Span);
        // Everything but the value field: small, parsed (and copied) the ordinary way.
        var before = payload.Slice(0, fieldStart);
        var after = payload.Slice(valueStart + valueLength);
        TRequest request;
        if (after.IsEmpty)
        {
            request = parser.ParseFrom(before);
        }
        else
        {
            var rest = new byte[before.Length + after.Length];
            before.CopyTo(rest);
            after.CopyTo(rest.AsSpan((int)before.Length));
            request = parser.ParseFrom(rest);
        }
        setValue(request, UnsafeByteOperations.UnsafeWrap(buffer.Data));
        return request;
    }

    // Walks the top-level fields: true when field 2 (the value) occurs exactly once, length-delimited, with where its
    // tag starts and where its bytes start and how many there are.
    internal static bool TryFindSingleValue(ReadOnlySequence<byte> payload, out long fieldStart, out long valueStart, out long valueLength)
    {
        fieldStart = valueStart = valueLength = -1;
        Span<byte> header = stackalloc byte[MaxHeaderBytes];
        long position = 0;
        while (position < payload.Length)
        {
            // The header's bytes (cut at the end of the message), read by the same field reader as every other walk.
            var window = header[..(int)Math.Min(MaxHeaderBytes, payload.Length - position)];
            payload.Slice(position, window.Length).CopyTo(window);
            var offset = 0;
            if (!ProtobufFields.TryReadHeader(window, ref offset, out var field, out var wireType, out var length)
                || length > (ulong)(payload.Length - position - offset))
            {
                return false;
            }
            var bodyStart = position + offset;
            var next = bodyStart + (long)length;
            if (field == ValueField)
            {
                if (fieldStart >= 0 || wireType != ProtobufFields.LengthDelimited)
                {
                    return false;
                }
                fieldStart = position;
                valueStart = bodyStart;
                valueLength = next - bodyStart;
            }
            position = next;
        }
        return fieldStart >= 0;
    }
}
