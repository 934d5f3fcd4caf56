using System.Diagnostics;
using Memo.Node.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// Middleware that times every call on the gRPC port and records it by method and gRPC status
/// (<see cref="NodeMetrics.RecordRpc"/>) and in the node's <see cref="ApiCallCounts"/>.
/// </summary>
/// <remarks>The method tag is the path of a mapped gRPC endpoint; any other path (a client probing unknown methods)
/// is tagged <c>other</c>, so the number of series stays bounded whatever clients send. The status comes from the
/// <c>grpc-status</c> trailer, or the header of a trailers-only response; a call with neither (the connection broke)
/// counts as 2 UNKNOWN.</remarks>
internal sealed class RpcMetrics(ApiCallCounts counts)
{
    private const string OtherMethod = "other";

    public async Task ApplyAsync(HttpContext context, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var status = StatusOf(context);
            counts.Record(status);
            var method = context.GetEndpoint() is null ? OtherMethod : context.Request.Path.Value ?? OtherMethod;
            NodeMetrics.RecordRpc(method, status, started);
        }
    }

    private static int StatusOf(HttpContext context)
    {
        var value = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers["grpc-status"] ?? default;
        if (value.Count == 0)
        {
            value = context.Response.Headers["grpc-status"];
        }
        return value.Count > 0 && int.TryParse(value[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
            ? code
            : 2;
    }
}
