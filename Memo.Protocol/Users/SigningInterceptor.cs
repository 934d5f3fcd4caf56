using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Memo.Protocol.Users;

/// <summary>
/// A client interceptor that adds <see cref="UserCredentials"/>' passport and a freshly signed call token to every
/// call (one ECDSA signature per call, made here, on the client). Requests must be protobuf messages.
/// </summary>
public sealed class SigningInterceptor(UserCredentials credentials, TimeProvider? clock = null) : Interceptor
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <inheritdoc />
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Signed(request, context));

    /// <inheritdoc />
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Signed(request, context));

    /// <inheritdoc />
    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Signed(request, context));

    private ClientInterceptorContext<TRequest, TResponse> Signed<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (request is not IMessage message)
        {
            throw new ArgumentException($"{typeof(TRequest).Name} is not a protobuf message; it cannot be signed.", nameof(request));
        }
        var headers = context.Options.Headers ?? new Metadata();
        foreach (var entry in credentials.HeadersFor(context.Method.FullName, message, _clock.GetUtcNow()))
        {
            headers.Add(entry);
        }
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }
}
