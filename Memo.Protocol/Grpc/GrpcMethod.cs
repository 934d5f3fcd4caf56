using Google.Protobuf;

namespace Memo.Protocol.Grpc;

/// <summary>
/// Describes one RPC: where it lives (<c>/package.Service/Method</c>), how many messages flow each way, and how to
/// parse the messages. Create one static instance per method and share it; the client and the server both key on it.
/// </summary>
/// <typeparam name="TRequest">The request message type.</typeparam>
/// <typeparam name="TResponse">The response message type.</typeparam>
public sealed class GrpcMethod<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    /// <summary>Describes a method of <paramref name="serviceName"/> (fully qualified, e.g. <c>memo.kvs.KeyValueStore</c>).</summary>
    public GrpcMethod(
        string serviceName,
        string methodName,
        GrpcMethodKind kind,
        MessageParser<TRequest> requestParser,
        MessageParser<TResponse> responseParser)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        ArgumentException.ThrowIfNullOrWhiteSpace(methodName);
        ArgumentNullException.ThrowIfNull(requestParser);
        ArgumentNullException.ThrowIfNull(responseParser);
        if (serviceName.Contains('/') || methodName.Contains('/'))
        {
            throw new ArgumentException($"Service and method names cannot contain '/': '{serviceName}', '{methodName}'.");
        }
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown method kind.");
        }
        ServiceName = serviceName;
        MethodName = methodName;
        Kind = kind;
        RequestParser = requestParser;
        ResponseParser = responseParser;
        FullName = "/" + serviceName + "/" + methodName;
    }

    /// <summary>The fully qualified service name, e.g. <c>memo.kvs.KeyValueStore</c>.</summary>
    public string ServiceName { get; }

    /// <summary>The method name within its service, e.g. <c>Fetch</c>.</summary>
    public string MethodName { get; }

    /// <summary>How many messages flow each way.</summary>
    public GrpcMethodKind Kind { get; }

    /// <summary>Parses request messages (used by the server).</summary>
    public MessageParser<TRequest> RequestParser { get; }

    /// <summary>Parses response messages (used by the client).</summary>
    public MessageParser<TResponse> ResponseParser { get; }

    /// <summary>The HTTP/2 <c>:path</c> of the method: <c>/service/method</c>.</summary>
    public string FullName { get; }

    /// <inheritdoc />
    public override string ToString() => FullName;
}
