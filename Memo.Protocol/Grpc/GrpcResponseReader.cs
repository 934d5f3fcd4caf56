using System.Buffers;
using Google.Protobuf;

namespace Memo.Protocol.Grpc;

/// <summary>
/// Reads length-prefixed messages from a response body stream into one pooled buffer that grows only to the size
/// of the largest message seen (itself bounded by the receive limit, checked from the prefix before reading the
/// payload). A read may pull in bytes of the next message; they stay buffered for the next call.
/// </summary>
internal sealed class GrpcResponseReader : IDisposable
{
    private const int InitialBufferSize = 4096;

    private readonly Stream _stream;
    private readonly int _maxMessageSize;
    private readonly string? _encoding;
    private byte[]? _buffer;
    private int _start;
    private int _end;

    public GrpcResponseReader(Stream stream, int maxMessageSize, string? encoding)
    {
        _stream = stream;
        _maxMessageSize = maxMessageSize;
        _encoding = encoding;
    }

    /// <summary>Reads the next message; null at a clean end of the stream.</summary>
    /// <exception cref="GrpcException">The stream ends inside a frame, a limit is exceeded, or the payload does not parse.</exception>
    public async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        if (!await FillAsync(GrpcFraming.PrefixLength, cancellationToken).ConfigureAwait(false))
        {
            if (_end == _start)
            {
                return null;
            }
            throw GrpcFraming.IncompleteMessage();
        }
        var prefix = GrpcFraming.ReadPrefix(_buffer.AsSpan(_start, GrpcFraming.PrefixLength));
        GrpcFraming.Validate(prefix, _maxMessageSize, _encoding);
        int frameLength = GrpcFraming.PrefixLength + (int)prefix.Length;
        if (!await FillAsync(frameLength, cancellationToken).ConfigureAwait(false))
        {
            throw GrpcFraming.IncompleteMessage();
        }
        T message;
        try
        {
            message = parser.ParseFrom(_buffer.AsSpan(_start + GrpcFraming.PrefixLength, (int)prefix.Length));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GrpcException(GrpcStatusCode.Internal, $"Failed to parse the response message: {ex.Message}", null, ex);
        }
        _start += frameLength;
        if (_start == _end)
        {
            _start = _end = 0;
        }
        return message;
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Ensures `count` unread bytes are buffered; false when the stream ends first.
    private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            EnsureRoom(count);
            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }
            _end += read;
        }
        return true;
    }

    private void EnsureRoom(int count)
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(InitialBufferSize, count));
            return;
        }
        if (_buffer.Length - _start >= count && _end < _buffer.Length)
        {
            return;
        }
        int unread = _end - _start;
        if (_buffer.Length >= count)
        {
            // Room enough once the consumed prefix is dropped.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, unread);
        }
        else
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(count, Math.Min(_buffer.Length * 2, GrpcFraming.PrefixLength + _maxMessageSize)));
            Buffer.BlockCopy(_buffer, _start, larger, 0, unread);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        _start = 0;
        _end = unread;
    }
}
