using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>A registered method: reads its requests, runs its handler, writes its responses. The status is the dispatcher's job.</summary>
internal abstract class GrpcServerMethod(string serviceName, string fullName, GrpcMethodKind kind)
{
    public string ServiceName { get; } = serviceName;

    public string FullName { get; } = fullName;

    public GrpcMethodKind Kind { get; } = kind;

    /// <summary>Runs the call up to (not including) its status; throws <see cref="GrpcException"/> for a non-OK one.</summary>
    public abstract Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize);
}

internal sealed class UnaryServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<TRequest, GrpcCallContext, ValueTask<TResponse>> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.Unary)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize)
    {
        var request = await GrpcRequestReader.ReadSingleAsync(call, method.RequestParser, maxReceiveMessageSize).ConfigureAwait(false);
        var response = await handler(request, call).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The handler of {FullName} returned a null response.");
        if (!call.DeadlineExpired)
        {
            call.WriteMessage(response);
        }
    }
}

internal sealed class ServerStreamingServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<TRequest, IGrpcStreamWriter<TResponse>, GrpcCallContext, Task> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.ServerStreaming)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize)
    {
        var request = await GrpcRequestReader.ReadSingleAsync(call, method.RequestParser, maxReceiveMessageSize).ConfigureAwait(false);
        await handler(request, new GrpcResponseStreamWriter<TResponse>(call), call).ConfigureAwait(false);
    }
}

internal sealed class ClientStreamingServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<IAsyncEnumerable<TRequest>, GrpcCallContext, ValueTask<TResponse>> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.ClientStreaming)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize)
    {
        var requests = new GrpcRequestStream<TRequest>(call, method.RequestParser, maxReceiveMessageSize);
        var response = await handler(requests, call).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The handler of {FullName} returned a null response.");
        if (!call.DeadlineExpired)
        {
            call.WriteMessage(response);
        }
    }
}

internal sealed class DuplexStreamingServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<IAsyncEnumerable<TRequest>, IGrpcStreamWriter<TResponse>, GrpcCallContext, Task> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.DuplexStreaming)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize) =>
        handler(
            new GrpcRequestStream<TRequest>(call, method.RequestParser, maxReceiveMessageSize),
            new GrpcResponseStreamWriter<TResponse>(call),
            call);
}
