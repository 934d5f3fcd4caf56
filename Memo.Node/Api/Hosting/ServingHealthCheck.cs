using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// The node's readiness as an ASP.NET Core health check, which Grpc.AspNetCore.HealthChecks turns into the standard
/// <c>grpc.health.v1.Health</c> answer: SERVING while the node serves requests, NOT_SERVING while it is not a member
/// yet, has been told to stop serving (the minority side of a partition), or is stopping.
/// </summary>
public sealed class ServingHealthCheck(Func<string?> notServingReason) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(notServingReason() is { } reason ? HealthCheckResult.Unhealthy(reason) : HealthCheckResult.Healthy());
}
