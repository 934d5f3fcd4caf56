using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>One request, then the handler writes responses through an <see cref="IGrpcStreamWriter{T}"/>.</summary>
internal sealed class ServerStreamingServerMethod<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<TRequest, IGrpcStreamWriter<TResponse>, GrpcCallContext, Task> handler)
    : GrpcServerMethod(method.ServiceName, method.FullName, GrpcMethodKind.ServerStreaming)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public override async Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize)
    {
        var request = await GrpcRequestReader.ReadSingleAsync(call, method.RequestParser, maxReceiveMessageSize).ConfigureAwait(false);
        await handler(request, new GrpcResponseStreamWriter<TResponse>(call), call).ConfigureAwait(false);
    }
}
