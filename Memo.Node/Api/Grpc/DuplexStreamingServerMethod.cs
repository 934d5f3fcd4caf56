using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>The handler reads requests and writes responses independently until it returns.</summary>
internal sealed class DuplexStreamingServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<IAsyncEnumerable<TRequest>, IGrpcStreamWriter<TResponse>, GrpcCallContext, Task> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.DuplexStreaming)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public override Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize) =>
        handler(
            new GrpcRequestStream<TRequest>(call, method.RequestParser, maxReceiveMessageSize),
            new GrpcResponseStreamWriter<TResponse>(call),
            call);
}
