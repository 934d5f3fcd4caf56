using System.Buffers;
using Google.Protobuf;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Reflection;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// The gRPC services an <see cref="ApiServer"/> serves: one instance each (holding its collaborators), bound through
/// its generated <c>BindService</c> method, and listed by server reflection.
/// </summary>
/// <remarks>Grpc.AspNetCore answers an unparseable request message with UNKNOWN ("Exception was thrown by handler"),
/// which tells a client nothing; the gRPC status table says INTERNAL and memo's API has always said INVALID_ARGUMENT.
/// So each service is bound here, with its request parser wrapped to answer INVALID_ARGUMENT, under an endpoint type of
/// its own (<see cref="BoundService{TService}"/>) that Grpc.AspNetCore's default discovery does not bind a second time.
/// Reflection is then served from the descriptors given here (Grpc.Reflection's standard implementation).</remarks>
public sealed class ApiServices
{
    private readonly List<Action<IServiceCollection>> _registrations = [];
    private readonly List<Action<IEndpointRouteBuilder>> _mappings = [];
    private readonly List<ServiceDescriptor> _descriptors = [];

    /// <summary>Adds a service implementation.</summary>
    /// <param name="instance">The one instance that answers every call (a subclass of a generated <c>*Base</c> class).</param>
    /// <param name="bind">The generated <c>BindService(ServiceBinderBase, *Base)</c> method of its service.</param>
    /// <param name="descriptor">The generated <c>Descriptor</c> of its service, for reflection.</param>
    /// <param name="maxReceiveMessageSize">This service's own request size limit, when it differs from the server's (the
    /// peer link carries batches whose size the transport's options fix, not the public API's limit).</param>
    /// <param name="interceptor">A server interceptor every call of this service passes (the passport gate); null for none.</param>
    /// <param name="requestParsers">Parsers of this service's own for some unary request types (keyed by the type), used
    /// instead of protobuf's (the key-value writes' large values: <see cref="KvWriteRequestParser"/>); null for none.</param>
    public ApiServices Add<TService>(TService instance, Action<ServiceBinderBase, TService> bind, ServiceDescriptor descriptor, int? maxReceiveMessageSize = null,
        Interceptor? interceptor = null, IReadOnlyDictionary<Type, Func<ReadOnlySequence<byte>, object>>? requestParsers = null)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(bind);
        ArgumentNullException.ThrowIfNull(descriptor);
        _descriptors.Add(descriptor);
        _registrations.Add(services =>
        {
            services.AddSingleton(new BoundService<TService>());
            services.AddSingleton<IServiceMethodProvider<BoundService<TService>>>(new BoundServiceMethods<TService>(instance, bind, requestParsers));
            if (maxReceiveMessageSize is { } limit)
            {
                services.Configure<GrpcServiceOptions<BoundService<TService>>>(o => o.MaxReceiveMessageSize = limit);
            }
            if (interceptor is not null)
            {
                // Grpc.AspNetCore resolves a registered interceptor type from the container: the one instance given here.
                services.AddSingleton(interceptor.GetType(), interceptor);
                services.Configure<GrpcServiceOptions<BoundService<TService>>>(o => o.Interceptors.Add(interceptor.GetType()));
            }
        });
        _mappings.Add(endpoints => endpoints.MapGrpcService<BoundService<TService>>());
        return this;
    }

    internal void Register(IServiceCollection services, IEnumerable<ServiceDescriptor> alsoListed)
    {
        foreach (var registration in _registrations)
        {
            registration(services);
        }
        var reflection = new ReflectionServiceImpl([.. _descriptors, .. alsoListed, ServerReflection.Descriptor]);
        services.AddSingleton(new BoundService<ReflectionServiceImpl>());
        services.AddSingleton<IServiceMethodProvider<BoundService<ReflectionServiceImpl>>>(
            new BoundServiceMethods<ReflectionServiceImpl>(reflection, ServerReflection.BindService));
    }

    internal void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var mapping in _mappings)
        {
            mapping(endpoints);
        }
        endpoints.MapGrpcService<BoundService<ReflectionServiceImpl>>();
    }
}

/// <summary>The endpoint type under which one service instance is mapped (see <see cref="ApiServices"/>).</summary>
/// <typeparam name="TService">The service implementation it stands for.</typeparam>
public sealed class BoundService<TService>
    where TService : class;

/// <summary>Binds one service instance's methods for Grpc.AspNetCore, unary request parsing answering INVALID_ARGUMENT.</summary>
internal sealed class BoundServiceMethods<TService>(TService instance, Action<ServiceBinderBase, TService> bind,
    IReadOnlyDictionary<Type, Func<ReadOnlySequence<byte>, object>>? requestParsers = null)
    : IServiceMethodProvider<BoundService<TService>>
    where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<BoundService<TService>> context) =>
        bind(new Binder(context, this), instance);

    // A request that does not parse is the caller's mistake, not a handler failure.
    private Method<TRequest, TResponse> ParseStrictly<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var parse = requestParsers?.GetValueOrDefault(typeof(TRequest)) is { } own
            ? context => (TRequest)own(context.PayloadAsReadOnlySequence())
            : method.RequestMarshaller.ContextualDeserializer;
        var marshaller = new Marshaller<TRequest>(method.RequestMarshaller.ContextualSerializer, context =>
        {
            try
            {
                return parse(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"The {typeof(TRequest).Name} message does not parse: {e.Message}"));
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }

    // The status message travels in the trailers, and clients refuse response headers over 64 KiB (Grpc.Net.Client
    // then aborts the whole HTTP/2 connection, failing every call on it). The API fuzzer found a handler echoing a
    // 70,000-character request field; this clips any such message, whichever handler it comes from.
    internal const int MaxStatusDetailChars = 4096;

    private static async Task<TResponse> ClipStatusDetail<TRequest, TResponse>(UnaryServerMethod<TRequest, TResponse> handler, TRequest request, ServerCallContext call)
        where TRequest : class
        where TResponse : class
    {
        try
        {
            return await handler(request, call).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.Status.Detail.Length > MaxStatusDetailChars)
        {
            throw new RpcException(new Status(e.StatusCode, e.Status.Detail[..MaxStatusDetailChars] + "... (clipped)"), e.Trailers);
        }
    }

    private sealed class Binder(ServiceMethodProviderContext<BoundService<TService>> context, BoundServiceMethods<TService> methods) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(methods.ParseStrictly(method), [], (_, request, call) => ClipStatusDetail(handler!, request, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddServerStreamingMethod(methods.ParseStrictly(method), [], (_, request, responses, call) => handler!(request, responses, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddClientStreamingMethod(method, [], (_, requests, call) => handler!(requests, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(method, [], (_, requests, responses, call) => handler!(requests, responses, call));
    }
}
