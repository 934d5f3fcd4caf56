using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Memo.Node.Api.Grpc;

/// <summary>Writes framed response messages to Kestrel's response pipe, flushing each one.</summary>
internal sealed class GrpcResponseStreamWriter<T>(GrpcCallContext call) : IGrpcStreamWriter<T>
    where T : class, IMessage<T>
{
    private int _writing;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (call.IsCompleted)
        {
            throw new InvalidOperationException($"The call {call.Method} is complete; no more responses can be written.");
        }
        if (Interlocked.Exchange(ref _writing, 1) != 0)
        {
            throw new InvalidOperationException("A write is already in progress; await each WriteAsync before the next.");
        }
        CancellationTokenSource? linked = null;
        try
        {
            var token = call.CancellationToken;
            if (cancellationToken.CanBeCanceled)
            {
                linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
                token = linked.Token;
            }
            token.ThrowIfCancellationRequested();
            call.WriteMessage(message);
            var result = await call.HttpContext.Response.BodyWriter.FlushAsync(token).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(token);
            }
            if (result.IsCompleted)
            {
                throw new IOException($"The client of {call.Method} is gone.");
            }
        }
        finally
        {
            linked?.Dispose();
            Volatile.Write(ref _writing, 0);
        }
    }
}
