using Google.Protobuf;
using Grpc.Core;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>
/// Temporary bridge for issue 7: lets the node's services keep registering <c>Memo.Protocol.Client</c>'s method
/// descriptors, now <see cref="Method{TRequest,TResponse}"/>, on the hand-written server. Delete it with the rest
/// of <c>Memo.Node/Api/Grpc</c>.
/// </summary>
internal static class CoreMethodRegistration
{
    /// <summary>Registers a unary handler for a <see cref="Method{TRequest,TResponse}"/>.</summary>
    public static GrpcServiceRegistry AddUnary<TRequest, TResponse>(
        this GrpcServiceRegistry registry,
        Method<TRequest, TResponse> method,
        Func<TRequest, GrpcCallContext, ValueTask<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        registry.AddUnary(method.ToGrpcMethod(), handler);
}
