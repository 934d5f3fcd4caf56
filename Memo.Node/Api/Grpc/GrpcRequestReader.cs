using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>
/// Reads length-prefixed request messages straight from Kestrel's request body pipe. The size limit is checked
/// from the 5-byte prefix before any payload is buffered, and payloads are parsed in place from the pipe's
/// segments (no copy).
/// </summary>
internal static class GrpcRequestReader
{
    /// <summary>
    /// Reads the one request message of a unary or server-streaming call, and checks that the body ends right
    /// after it (as grpc-dotnet: none or more than one message is INTERNAL).
    /// </summary>
    public static async ValueTask<T> ReadSingleAsync<T>(GrpcCallContext call, MessageParser<T> parser, int maxMessageSize)
        where T : class, IMessage<T>
    {
        var reader = call.HttpContext.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(call.CancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                if (GrpcFraming.TryReadPrefix(buffer, out var prefix))
                {
                    GrpcFraming.Validate(prefix, maxMessageSize, call.RequestEncoding);
                    long frameLength = GrpcFraming.PrefixLength + prefix.Length;
                    if (buffer.Length > frameLength)
                    {
                        throw new GrpcException(GrpcStatusCode.Internal, "More than one request message for a single-request call.");
                    }
                    if (buffer.Length == frameLength && result.IsCompleted)
                    {
                        var message = Parse(parser, buffer.Slice(GrpcFraming.PrefixLength));
                        reader.AdvanceTo(buffer.End);
                        return message;
                    }
                    // A whole message without end of stream: wait for the end (more data would be an error).
                }
                if (result.IsCompleted)
                {
                    throw buffer.IsEmpty
                        ? new GrpcException(GrpcStatusCode.Internal, "No request message for a single-request call.")
                        : GrpcFraming.IncompleteMessage();
                }
                if (result.IsCanceled)
                {
                    throw new OperationCanceledException("The request body read was cancelled.");
                }
            }
            catch
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads the next message of a request stream; null at its clean end.</summary>
    public static async ValueTask<T?> ReadNextAsync<T>(PipeReader reader, GrpcCallContext call, MessageParser<T> parser, int maxMessageSize, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                if (GrpcFraming.TryReadPrefix(buffer, out var prefix))
                {
                    GrpcFraming.Validate(prefix, maxMessageSize, call.RequestEncoding);
                    long frameLength = GrpcFraming.PrefixLength + prefix.Length;
                    if (buffer.Length >= frameLength)
                    {
                        var message = Parse(parser, buffer.Slice(GrpcFraming.PrefixLength, prefix.Length));
                        reader.AdvanceTo(buffer.GetPosition(frameLength));
                        return message;
                    }
                }
                if (result.IsCompleted)
                {
                    if (buffer.IsEmpty)
                    {
                        reader.AdvanceTo(buffer.End);
                        return null;
                    }
                    throw GrpcFraming.IncompleteMessage();
                }
                if (result.IsCanceled)
                {
                    throw new OperationCanceledException("The request body read was cancelled.");
                }
            }
            catch
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GrpcException(GrpcStatusCode.InvalidArgument, $"The request message is not a valid {typeof(T).Name}: {ex.Message}", null, ex);
        }
    }
}
