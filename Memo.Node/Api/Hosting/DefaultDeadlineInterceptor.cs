using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// Gives a unary call that arrived without a deadline (<c>grpc-timeout</c>) the server's default one
/// (<c>memo.grpc.default-deadline</c>): its handler sees a token cancelled at that time and the call ends with
/// DEADLINE_EXCEEDED, so a client that never sets a deadline cannot make the node hold work forever.
/// </summary>
/// <remarks>Grpc.AspNetCore has no server-side default deadline, and a <see cref="ServerCallContext"/>'s token cannot be
/// replaced, so the handler gets a <see cref="DeadlineBoundCallContext"/> over the real one. Streaming calls are left
/// alone: the peer link is a stream meant to live as long as the connection.</remarks>
public sealed class DefaultDeadlineInterceptor(TimeSpan deadline) : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Deadline != DateTime.MaxValue || deadline == Timeout.InfiniteTimeSpan)
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        limit.CancelAfter(deadline);
        var bounded = new DeadlineBoundCallContext(context, DateTime.UtcNow + deadline, limit.Token);
        try
        {
            return await continuation(request, bounded).ConfigureAwait(false);
        }
        catch (Exception e) when (limit.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested
            && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled or StatusCode.Unavailable })
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                $"The call sent no deadline and ran past the server's default of {deadline.TotalSeconds:0.###} s."));
        }
    }
}
