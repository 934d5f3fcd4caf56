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
    public ApiServices Add<TService>(TService instance)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(instance);
        _registrations.Add(services => services.AddSingleton(instance));
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
