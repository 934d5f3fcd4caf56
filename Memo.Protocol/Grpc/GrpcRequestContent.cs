using System.Buffers;
using System.Net;
using Google.Protobuf;

namespace Memo.Protocol.Grpc;

/// <summary>
/// Request bodies of client calls. Each message is serialized straight into a pooled buffer holding its 5-byte
/// prefix, then written in one go; the buffer goes back to the pool as soon as the write completes.
/// </summary>
internal static class GrpcRequestContent
{
    /// <summary>Serializes one framed message into a rented buffer; the caller returns it to the pool.</summary>
    public static byte[] Frame(IMessage message, int size, out int frameLength)
    {
        frameLength = GrpcFraming.PrefixLength + size;
        var buffer = ArrayPool<byte>.Shared.Rent(frameLength);
        GrpcFraming.WritePrefix(buffer, size);
        message.WriteTo(buffer.AsSpan(GrpcFraming.PrefixLength, size));
        return buffer;
    }

    /// <summary>Frames and writes one message to a request stream, checking the send limit first.</summary>
    public static async ValueTask WriteMessageAsync(Stream stream, IMessage message, int maxSendSize, bool flush, CancellationToken cancellationToken)
    {
        int size = message.CalculateSize();
        GrpcFraming.ValidateSendSize(size, maxSendSize);
        var buffer = Frame(message, size, out int frameLength);
        try
        {
            await stream.WriteAsync(buffer.AsMemory(0, frameLength), cancellationToken).ConfigureAwait(false);
            if (flush)
            {
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal static void SetGrpcContentType(HttpContent content) =>
        content.Headers.TryAddWithoutValidation("content-type", GrpcProtocol.ContentType);
}
