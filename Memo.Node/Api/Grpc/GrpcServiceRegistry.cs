using System.Collections.Frozen;
using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>
/// The methods a server answers, by full name. Fill it before starting the server: starting freezes it, and
/// registering afterwards throws (the dispatcher reads a frozen, lock-free table).
/// </summary>
public sealed class GrpcServiceRegistry
{
    private readonly Dictionary<string, GrpcServerMethod> _methods = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private FrozenDictionary<string, GrpcServerMethod>? _frozen;

    /// <summary>The full names (<c>/service/method</c>) registered so far.</summary>
    public IReadOnlyCollection<string> MethodNames
    {
        get
        {
            lock (_lock)
            {
                return [.. _methods.Keys];
            }
        }
    }

    /// <summary>Registers a unary handler.</summary>
    /// <exception cref="InvalidOperationException">The name is taken, or the registry is frozen.</exception>
    public GrpcServiceRegistry AddUnary<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        Func<TRequest, GrpcCallContext, ValueTask<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        Check(method, handler, GrpcMethodKind.Unary);
        return Add(new UnaryServerMethod<TRequest, TResponse>(method, handler));
    }

    /// <summary>Registers a server-streaming handler; it writes responses with the writer and returns when done.</summary>
    /// <exception cref="InvalidOperationException">The name is taken, or the registry is frozen.</exception>
    public GrpcServiceRegistry AddServerStreaming<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        Func<TRequest, IGrpcStreamWriter<TResponse>, GrpcCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        Check(method, handler, GrpcMethodKind.ServerStreaming);
        return Add(new ServerStreamingServerMethod<TRequest, TResponse>(method, handler));
    }

    /// <summary>Registers a client-streaming handler; it reads the requests (once) and returns the response.</summary>
    /// <exception cref="InvalidOperationException">The name is taken, or the registry is frozen.</exception>
    public GrpcServiceRegistry AddClientStreaming<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        Func<IAsyncEnumerable<TRequest>, GrpcCallContext, ValueTask<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        Check(method, handler, GrpcMethodKind.ClientStreaming);
        return Add(new ClientStreamingServerMethod<TRequest, TResponse>(method, handler));
    }

    /// <summary>Registers a duplex-streaming handler; requests and responses flow independently until it returns.</summary>
    /// <exception cref="InvalidOperationException">The name is taken, or the registry is frozen.</exception>
    public GrpcServiceRegistry AddDuplexStreaming<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        Func<IAsyncEnumerable<TRequest>, IGrpcStreamWriter<TResponse>, GrpcCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        Check(method, handler, GrpcMethodKind.DuplexStreaming);
        return Add(new DuplexStreamingServerMethod<TRequest, TResponse>(method, handler));
    }

    /// <summary>Stops registration and returns the lookup table (idempotent).</summary>
    internal FrozenDictionary<string, GrpcServerMethod> Freeze()
    {
        lock (_lock)
        {
            return _frozen ??= _methods.ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    private GrpcServiceRegistry Add(GrpcServerMethod method)
    {
        lock (_lock)
        {
            if (_frozen is not null)
            {
                throw new InvalidOperationException($"Cannot register {method.FullName}: the server has started.");
            }
            if (!_methods.TryAdd(method.FullName, method))
            {
                throw new InvalidOperationException($"{method.FullName} is already registered.");
            }
        }
        return this;
    }

    private static void Check<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, Delegate handler, GrpcMethodKind kind)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (method.Kind != kind)
        {
            throw new ArgumentException($"{method.FullName} is a {method.Kind} method; it cannot take a {kind} handler.", nameof(method));
        }
    }
}
