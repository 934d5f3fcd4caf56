using Google.Protobuf;
using Grpc.Core;

namespace Memo.Protocol.Grpc;

/// <summary>
/// Temporary bridge for issue 7: <c>Memo.Protocol.Client</c>'s method descriptors are now
/// <see cref="Method{TRequest,TResponse}"/>, while the node still serves and calls through the hand-written
/// <see cref="GrpcChannel"/> and server registry until its own port lands. Delete this file with the rest of
/// <c>Memo.Protocol/Grpc</c> (keeping <see cref="GrpcException"/> and <see cref="GrpcStatusCode"/>).
/// </summary>
public static class CoreMethodBridge
{
    /// <summary>The hand-written client's descriptor of the same unary protobuf method.</summary>
    public static GrpcMethod<TRequest, TResponse> ToGrpcMethod<TRequest, TResponse>(this Method<TRequest, TResponse> method)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Type != MethodType.Unary)
        {
            throw new ArgumentException($"{method.FullName} is not unary.", nameof(method));
        }
        return new GrpcMethod<TRequest, TResponse>(method.ServiceName, method.Name, GrpcMethodKind.Unary, Parser<TRequest>(), Parser<TResponse>());
    }

    /// <summary>Calls a unary method described by a <see cref="Method{TRequest,TResponse}"/> on the hand-written channel.</summary>
    public static Task<TResponse> UnaryAsync<TRequest, TResponse>(this GrpcChannel channel, Method<TRequest, TResponse> method, TRequest request, GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel.UnaryAsync(method.ToGrpcMethod(), request, options);
    }

    // Generated messages expose their static parser through their descriptor.
    private static MessageParser<T> Parser<T>()
        where T : class, IMessage<T>, new() =>
        (MessageParser<T>)new T().Descriptor.Parser;
}
