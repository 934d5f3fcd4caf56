using Grpc.Core;
using Memo.Protocol.Grpc;

namespace Memo.Protocol.Client;

/// <summary>
/// Starts unary calls through one <see cref="CallInvoker"/> with a default time limit per call, turned into a gRPC
/// deadline when the call starts. Used by <see cref="MemoClient"/>.
/// </summary>
internal sealed class UnaryCaller(CallInvoker invoker, TimeSpan? timeout)
{
    /// <summary>Starts a call; the task fails with the raw <see cref="RpcException"/>, for callers that expect some statuses.</summary>
    public Task<TResponse> StartAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : class
        where TResponse : class =>
        // Not disposed: a unary call releases its resources when it completes, as with the generated clients.
        invoker.AsyncUnaryCall(method, host: null, Options(cancellationToken), request).ResponseAsync;

    /// <summary>Starts a call with request headers; as <see cref="StartAsync{TRequest, TResponse}(Method{TRequest, TResponse}, TRequest, CancellationToken)"/>.</summary>
    public Task<TResponse> StartAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, Metadata headers, CancellationToken cancellationToken)
        where TRequest : class
        where TResponse : class =>
        invoker.AsyncUnaryCall(method, host: null, Options(cancellationToken).WithHeaders(headers), request).ResponseAsync;

    /// <summary>Makes a call; any failure throws <see cref="GrpcException"/>.</summary>
    public async Task<TResponse> CallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : class
        where TResponse : class
    {
        try
        {
            return await StartAsync(method, request, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw e.ToGrpcException();
        }
    }

    private CallOptions Options(CancellationToken cancellationToken) => new(deadline: Deadline(), cancellationToken: cancellationToken);

    private DateTime? Deadline()
    {
        if (timeout is not { } t || t == Timeout.InfiniteTimeSpan)
        {
            return null;
        }
        var now = DateTime.UtcNow;
        if (t <= TimeSpan.Zero)
        {
            // Already expired: the call fails with DeadlineExceeded without reaching the node.
            return now;
        }
        return t >= DateTime.MaxValue - now ? null : now + t;
    }
}
