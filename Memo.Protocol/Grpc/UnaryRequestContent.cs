using System.Buffers;
using System.Net;
using Google.Protobuf;

namespace Memo.Protocol.Grpc;

/// <summary>The body of a unary or server-streaming call: exactly one message, sized (and limit-checked) up front.</summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly IMessage _message;
    private readonly int _size;

    public UnaryRequestContent(IMessage message, int maxSendSize)
    {
        _message = message;
        _size = message.CalculateSize();
        GrpcFraming.ValidateSendSize(_size, maxSendSize);
        GrpcRequestContent.SetGrpcContentType(this);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = GrpcRequestContent.Frame(_message, _size, out int frameLength);
        ValueTask write;
        try
        {
            write = stream.WriteAsync(buffer.AsMemory(0, frameLength), cancellationToken);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        if (write.IsCompletedSuccessfully)
        {
            // The common case: HTTP/2 copies small writes into its send buffer synchronously; no state machine.
            ArrayPool<byte>.Shared.Return(buffer);
            return Task.CompletedTask;
        }
        return AwaitWriteAsync(write, buffer);
    }

    private static async Task AwaitWriteAsync(ValueTask write, byte[] buffer)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // No content-length: gRPC bodies are framed by their prefixes, and some servers reject it on streams.
    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
