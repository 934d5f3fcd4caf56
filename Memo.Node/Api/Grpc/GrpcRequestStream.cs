using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>
/// The request messages of a client-streaming or duplex call, read lazily from the request body. It can be
/// enumerated once; the enumerator is the sequence itself, so enumerating allocates nothing more. A malformed
/// frame throws <see cref="GrpcException"/> with the status the call should end with.
/// </summary>
internal sealed class GrpcRequestStream<T>(GrpcCallContext call, MessageParser<T> parser, int maxMessageSize)
    : IAsyncEnumerable<T>, IAsyncEnumerator<T>
    where T : class, IMessage<T>
{
    private CancellationToken _token;
    private CancellationTokenSource? _linked;
    private T? _current;
    private bool _enumerated;
    private bool _ended;

    public T Current => _current ?? throw new InvalidOperationException("No current message.");

    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (_enumerated)
        {
            throw new InvalidOperationException("A request stream can be enumerated only once.");
        }
        _enumerated = true;
        _token = call.CancellationToken;
        if (cancellationToken.CanBeCanceled && cancellationToken != _token)
        {
            _linked = CancellationTokenSource.CreateLinkedTokenSource(_token, cancellationToken);
            _token = _linked.Token;
        }
        return this;
    }

    public async ValueTask<bool> MoveNextAsync()
    {
        if (_ended)
        {
            return false;
        }
        if (call.IsCompleted)
        {
            throw new InvalidOperationException("The call is complete; its request stream can no longer be read.");
        }
        _current = await GrpcRequestReader.ReadNextAsync(call.HttpContext.Request.BodyReader, call, parser, maxMessageSize, _token).ConfigureAwait(false);
        _ended = _current is null;
        return !_ended;
    }

    public ValueTask DisposeAsync()
    {
        _linked?.Dispose();
        _linked = null;
        return ValueTask.CompletedTask;
    }
}
