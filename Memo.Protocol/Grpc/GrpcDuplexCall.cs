using Google.Protobuf;

namespace Memo.Protocol.Grpc;

/// <summary>
/// A running duplex-streaming call. Requests and responses flow independently: write with
/// <see cref="WriteAsync"/> (one write at a time), end the request side with <see cref="CompleteAsync"/>, and read
/// <see cref="Responses"/> (once). Dispose when done; disposing before the response stream ended cancels the call.
/// </summary>
public sealed class GrpcDuplexCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcClientCall<TRequest, TResponse> _call;
    private readonly PushRequestContent _content;
    private readonly int _maxSendSize;
    private readonly Task _start;
    private int _writing;
    private int _responsesTaken;
    private volatile bool _requestsCompleted;
    private volatile bool _disposed;

    internal GrpcDuplexCall(GrpcClientCall<TRequest, TResponse> call, PushRequestContent content, int maxSendSize)
    {
        _call = call;
        _content = content;
        _maxSendSize = maxSendSize;
        _start = call.StartAsync(content);
        // The failure is observed by readers and writers; keep it from surfacing as an unobserved task exception.
        _start.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Responses = ReadResponsesAsync();
    }

    /// <summary>
    /// The response messages; the enumeration throws <see cref="GrpcException"/> for a non-OK status. It can be
    /// enumerated once.
    /// </summary>
    public IAsyncEnumerable<TResponse> Responses { get; }

    /// <summary>Sends one request message. Await each write before the next.</summary>
    /// <exception cref="GrpcException">The call failed (its final status when the server already ended it).</exception>
    /// <exception cref="InvalidOperationException">A write is in progress, the request side is complete, or the call ended with OK.</exception>
    public async ValueTask WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_requestsCompleted)
        {
            throw new InvalidOperationException("The request stream is already complete.");
        }
        if (Interlocked.Exchange(ref _writing, 1) != 0)
        {
            throw new InvalidOperationException("A write is already in progress; await each WriteAsync before the next.");
        }
        CancellationTokenSource? linked = null;
        try
        {
            var token = _call.Token;
            if (cancellationToken.CanBeCanceled)
            {
                linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
                token = linked.Token;
            }
            var stream = await RequestStreamAsync(token).ConfigureAwait(false);
            await GrpcRequestContent.WriteMessageAsync(stream, message, _maxSendSize, flush: true, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not GrpcException { Status: GrpcStatusCode.ResourceExhausted })
        {
            if (cancellationToken.IsCancellationRequested && !_call.Token.IsCancellationRequested)
            {
                throw;
            }
            throw _call.MapWriteFailure(ex);
        }
        finally
        {
            linked?.Dispose();
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <summary>Ends the request stream (HTTP/2 END_STREAM); responses keep flowing. Idempotent.</summary>
    /// <exception cref="InvalidOperationException">A write is in progress.</exception>
    public ValueTask CompleteAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref _writing) != 0)
        {
            throw new InvalidOperationException("Cannot complete the request stream while a write is in progress.");
        }
        _requestsCompleted = true;
        _content.Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>Ends the call; if it is still running it is cancelled (the server sees RST_STREAM(CANCEL)).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _call.Dispose();
    }

    private async Task<Stream> RequestStreamAsync(CancellationToken cancellationToken)
    {
        var streamTask = _content.StreamTask;
        if (!streamTask.IsCompleted)
        {
            // The stream arrives when HttpClient starts sending; a failed start (unreachable target) ends the wait.
            var first = await Task.WhenAny(streamTask, _start).ConfigureAwait(false);
            if (first == _start && _start.IsFaulted)
            {
                await _start.ConfigureAwait(false);
            }
            await streamTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        return await streamTask.ConfigureAwait(false);
    }

    private async IAsyncEnumerable<TResponse> ReadResponsesAsync()
    {
        if (Interlocked.Exchange(ref _responsesTaken, 1) != 0)
        {
            throw new InvalidOperationException("The responses of a duplex call can be enumerated only once.");
        }
        await _start.ConfigureAwait(false);
        while (await _call.ReadMessageAsync().ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
        _call.ThrowIfFailed();
    }
}
