using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// The TCP transport's framing: each <see cref="PeerBatch"/> travels as a 4-byte little-endian length and then the
/// batch's protobuf bytes. Buffers come from <see cref="ArrayPool{T}.Shared"/>, so a batch of at most
/// <see cref="PeerTransportOptions.MaxBatchBytes"/> (64 KiB by default) allocates no array of its own on either side
/// beyond its bodies.
/// </summary>
internal static class TcpPeerFrames
{
    /// <summary>Bytes of the length prefix.</summary>
    public const int HeaderBytes = 4;

    /// <summary>The largest frame a transport with <paramref name="options"/> writes and accepts, prefix excluded.</summary>
    public static int Limit(PeerTransportOptions options) => options.MaxBatchWireBytes;

    /// <summary>Serialises <paramref name="batch"/> with its prefix into a pooled buffer; return it with <see cref="Return"/>.</summary>
    public static (byte[] Buffer, int Length) Rent(PeerBatch batch)
    {
        int size = batch.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderBytes + size);
        BinaryPrimitives.WriteInt32LittleEndian(buffer, size);
        batch.WriteTo(buffer.AsSpan(HeaderBytes, size));
        return (buffer, HeaderBytes + size);
    }

    public static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    /// <summary>Reads one frame's length; an error when it is negative or over <paramref name="limit"/>.</summary>
    public static string? CheckLength(ReadOnlySpan<byte> header, int limit, out int length)
    {
        length = BinaryPrimitives.ReadInt32LittleEndian(header);
        return length < 0 || length > limit
            ? $"a frame of {(uint)length} bytes exceeds the limit of {limit} bytes"
            : null;
    }

    /// <summary>Parses a batch; null with the reason when the bytes are not one.</summary>
    public static PeerBatch? Parse(ReadOnlySpan<byte> bytes, out string? error)
    {
        try
        {
            // Parsing a span copies every bytes field, so the buffer can go back to the pool at once.
            var batch = PeerBatch.Parser.ParseFrom(bytes);
            error = null;
            return batch;
        }
        catch (InvalidProtocolBufferException e)
        {
            error = "a frame that is not a peer batch: " + e.Message;
            return null;
        }
    }

    /// <summary>Reads one frame asynchronously (the hello exchange); null with the reason when the stream ended or the
    /// frame is refused.</summary>
    public static async Task<(PeerBatch? Batch, string? Error)> ReadAsync(Stream stream, int limit, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderBytes];
        if (!await TryFillAsync(stream, header, cancellationToken).ConfigureAwait(false))
        {
            return (null, "the connection closed before a frame");
        }
        if (CheckLength(header, limit, out int length) is { } tooLong)
        {
            return (null, tooLong);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
        try
        {
            if (!await TryFillAsync(stream, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false))
            {
                return (null, "the connection closed in the middle of a frame");
            }
            var batch = Parse(buffer.AsSpan(0, length), out var error);
            return (batch, error);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes one batch (the hello exchange).</summary>
    public static async Task WriteAsync(Stream stream, PeerBatch batch, CancellationToken cancellationToken)
    {
        var (buffer, length) = Rent(batch);
        try
        {
            await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Return(buffer);
        }
    }

    /// <summary>Fills <paramref name="target"/>; false when the stream ended first (at the start or in the middle).</summary>
    public static async ValueTask<bool> TryFillAsync(Stream stream, Memory<byte> target, CancellationToken cancellationToken)
    {
        int read = await stream.ReadAtLeastAsync(target, target.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read == target.Length;
    }

    /// <summary>Fills <paramref name="target"/> with blocking reads; false when the stream ended first.</summary>
    public static bool TryFill(Stream stream, Span<byte> target) =>
        stream.ReadAtLeast(target, target.Length, throwOnEndOfStream: false) == target.Length;
}
