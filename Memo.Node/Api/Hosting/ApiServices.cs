using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// The gRPC service instances an <see cref="ApiServer"/> serves. Each is registered as a singleton and mapped with
/// Grpc.AspNetCore's <c>MapGrpcService</c>, so one instance (holding its collaborators) answers every call.
/// </summary>
public sealed class ApiServices
{
    private readonly List<Action<IServiceCollection>> _registrations = [];
    private readonly List<Action<IEndpointRouteBuilder>> _mappings = [];

    /// <summary>Adds a service implementation (a subclass of a generated <c>*Base</c> class).</summary>
    /// <param name="instance">The one instance that answers every call.</param>
    /// <param name="maxReceiveMessageSize">This service's own request size limit, when it differs from the server's (the
    /// peer link carries batches whose size the transport's options fix, not the public API's limit).</param>
    public ApiServices Add<TService>(TService instance, int? maxReceiveMessageSize = null)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(instance);
        _registrations.Add(services => services.AddSingleton(instance));
        if (maxReceiveMessageSize is { } limit)
        {
            _registrations.Add(services => services.Configure<GrpcServiceOptions<TService>>(o => o.MaxReceiveMessageSize = limit));
        }
        _mappings.Add(endpoints => endpoints.MapGrpcService<TService>());
        return this;
    }

    internal void Register(IServiceCollection services)
    {
        foreach (var registration in _registrations)
        {
            registration(services);
        }
    }

    internal void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var mapping in _mappings)
        {
            mapping(endpoints);
        }
    }
}
