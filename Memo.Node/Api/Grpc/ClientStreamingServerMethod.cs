using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>The handler reads a request stream and returns one response.</summary>
internal sealed class ClientStreamingServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<IAsyncEnumerable<TRequest>, GrpcCallContext, ValueTask<TResponse>> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.ClientStreaming)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
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
