using System.Buffers;
using System.Buffers.Binary;

namespace Memo.Protocol.Grpc;

/// <summary>
/// The length-prefixed message framing of gRPC: each message is a 5-byte prefix (1-byte compressed flag, 4-byte
/// big-endian length) followed by that many bytes of protobuf. Used by both the client and the server, so a size
/// limit is enforced from the prefix, before the body is buffered.
/// </summary>
public static class GrpcFraming
{
    /// <summary>Length of the prefix before each message.</summary>
    public const int PrefixLength = 5;

    /// <summary>Writes the prefix of an uncompressed message of <paramref name="messageLength"/> bytes.</summary>
    public static void WritePrefix(Span<byte> destination, int messageLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(messageLength);
        destination[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)messageLength);
    }

    /// <summary>Reads a prefix from its first 5 bytes.</summary>
    public static GrpcFramePrefix ReadPrefix(ReadOnlySpan<byte> source) =>
        new(source[0], BinaryPrimitives.ReadUInt32BigEndian(source[1..]));

    /// <summary>Reads a prefix from the start of <paramref name="buffer"/>; false when fewer than 5 bytes are there.</summary>
    public static bool TryReadPrefix(in ReadOnlySequence<byte> buffer, out GrpcFramePrefix prefix)
    {
        if (buffer.Length < PrefixLength)
        {
            prefix = default;
            return false;
        }
        var first = buffer.FirstSpan;
        if (first.Length >= PrefixLength)
        {
            prefix = ReadPrefix(first);
            return true;
        }
        Span<byte> copy = stackalloc byte[PrefixLength];
        buffer.Slice(0, PrefixLength).CopyTo(copy);
        prefix = ReadPrefix(copy);
        return true;
    }

    /// <summary>
    /// Checks a received prefix: the flag must be 0 or 1, a compressed message needs an encoding this side
    /// supports (none: identity only), and the length must not exceed <paramref name="maxMessageSize"/>.
    /// </summary>
    /// <param name="prefix">The prefix read.</param>
    /// <param name="maxMessageSize">Largest message accepted.</param>
    /// <param name="peerEncoding">The peer's <c>grpc-encoding</c> header, null when absent.</param>
    /// <exception cref="GrpcException">Internal, Unimplemented or ResourceExhausted, with the reason.</exception>
    public static void Validate(GrpcFramePrefix prefix, int maxMessageSize, string? peerEncoding)
    {
        if (prefix.CompressedFlag > 1)
        {
            throw new GrpcException(GrpcStatusCode.Internal, $"Invalid gRPC compressed flag {prefix.CompressedFlag}.");
        }
        if (prefix.IsCompressed)
        {
            if (string.IsNullOrEmpty(peerEncoding) || peerEncoding == GrpcProtocol.IdentityEncoding)
            {
                throw new GrpcException(GrpcStatusCode.Internal, "Compressed gRPC message received without a grpc-encoding.");
            }
            throw new GrpcException(
                GrpcStatusCode.Unimplemented,
                $"Unsupported grpc-encoding '{peerEncoding}'; supported: {GrpcProtocol.IdentityEncoding}.",
                [new(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.IdentityEncoding)]);
        }
        if (prefix.Length > (uint)maxMessageSize)
        {
            throw new GrpcException(
                GrpcStatusCode.ResourceExhausted,
                $"Received message of {prefix.Length} bytes exceeds the limit of {maxMessageSize} bytes.");
        }
    }

    /// <summary>Throws <see cref="GrpcStatusCode.ResourceExhausted"/> when an outgoing message is too large.</summary>
    public static void ValidateSendSize(int messageLength, int maxMessageSize)
    {
        if (messageLength > maxMessageSize)
        {
            throw new GrpcException(
                GrpcStatusCode.ResourceExhausted,
                $"Sending message of {messageLength} bytes exceeds the limit of {maxMessageSize} bytes.");
        }
    }

    /// <summary>The exception for a body that ends inside a prefix or a message.</summary>
    public static GrpcException IncompleteMessage() =>
        new(GrpcStatusCode.Internal, "Incomplete gRPC message: the stream ended inside a message frame.");
}
