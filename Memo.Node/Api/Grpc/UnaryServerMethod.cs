using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>One request, one response; the response is framed into the pipe and flushed with the trailers.</summary>
internal sealed class UnaryServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<TRequest, GrpcCallContext, ValueTask<TResponse>> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.Unary)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
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
