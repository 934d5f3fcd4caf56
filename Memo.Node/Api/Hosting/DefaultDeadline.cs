using System.Globalization;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// Gives a unary call that arrived without a deadline the server's default one (<c>memo.grpc.default-deadline</c>), so
/// a client that never sets a deadline cannot make the node hold work forever.
/// </summary>
/// <remarks>Grpc.AspNetCore has no server-side default deadline, but it enforces the <c>grpc-timeout</c> header itself
/// (the handler's token is cancelled and the call ends DEADLINE_EXCEEDED). So this middleware, placed after routing
/// has chosen the gRPC method, adds that header when the client sent none. Streaming calls are left alone: the peer
/// link is a stream meant to live as long as its connection.</remarks>
internal sealed class DefaultDeadline(TimeSpan deadline)
{
    private const string TimeoutHeader = "grpc-timeout";
    private readonly string _header = Format(deadline);

    /// <summary>The middleware step: adds the header, then calls the rest of the pipeline.</summary>
    public Task ApplyAsync(HttpContext context, RequestDelegate next)
    {
        if (deadline != Timeout.InfiniteTimeSpan
            && !context.Request.Headers.ContainsKey(TimeoutHeader)
            && context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { Method.Type: MethodType.Unary })
        {
            context.Request.Headers[TimeoutHeader] = _header;
        }
        return next(context);
    }

    // The wire form allows at most 8 digits: milliseconds up to ~27 h, whole seconds beyond.
    private static string Format(TimeSpan value)
    {
        if (value == Timeout.InfiniteTimeSpan)
        {
            return "";
        }
        var milliseconds = (long)Math.Ceiling(value.TotalMilliseconds);
        return milliseconds <= 99_999_999
            ? milliseconds.ToString(CultureInfo.InvariantCulture) + "m"
            : Math.Min((long)Math.Ceiling(value.TotalSeconds), 99_999_999).ToString(CultureInfo.InvariantCulture) + "S";
    }
}
