using Grpc.Core;
using Memo.Protocol.Grpc;

namespace Memo.Protocol.Client;

/// <summary>
/// Turns <c>Grpc.Net.Client</c>'s <see cref="RpcException"/> into the <see cref="GrpcException"/> Memo's clients have
/// always thrown, so callers keep one exception type and one status enum.
/// </summary>
public static class RpcExceptionExtensions
{
    /// <summary>
    /// The same status code, the status detail as the message (the status name when the detail is empty), the
    /// custom trailers, and <paramref name="exception"/> as the inner exception (its own inner exception is the
    /// local cause, e.g. the socket error behind UNAVAILABLE).
    /// </summary>
    public static GrpcException ToGrpcException(this RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var status = (GrpcStatusCode)(int)exception.StatusCode;
        var detail = exception.Status.Detail;
        if (status == GrpcStatusCode.OK)
        {
            // An OK status never fails a call; treat a failure that claims it as a broken answer.
            status = GrpcStatusCode.Internal;
            detail = "The call failed with status OK" + (string.IsNullOrEmpty(detail) ? "." : ": " + detail);
        }
        return new GrpcException(status, string.IsNullOrEmpty(detail) ? status.ToString() : detail, Trailers(exception.Trailers), exception);
    }

    private static List<KeyValuePair<string, string>>? Trailers(Metadata trailers)
    {
        List<KeyValuePair<string, string>>? list = null;
        foreach (var entry in trailers)
        {
            if (entry.Key is "grpc-status" or "grpc-message")
            {
                continue;
            }
            list ??= [];
            list.Add(new(entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value));
        }
        return list;
    }
}
