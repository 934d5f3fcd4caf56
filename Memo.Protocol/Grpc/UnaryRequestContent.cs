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

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = GrpcRequestContent.Frame(_message, _size, out int frameLength);
        try
        {
            await stream.WriteAsync(buffer.AsMemory(0, frameLength), cancellationToken).ConfigureAwait(false);
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
