using System.Collections.Frozen;
using Memo.Protocol.Grpc;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Api.Grpc;

/// <summary>
/// Turns HTTP/2 requests into gRPC calls: checks the request is gRPC, finds the method, applies the deadline,
/// runs the handler, and ends every call with a status (trailers, or a trailers-only response). Exposed as
/// <see cref="HandleAsync"/> so any ASP.NET Core host can mount it; <see cref="GrpcServer"/> runs it on a bare
/// Kestrel host.
/// </summary>
/// <remarks>
/// A host that mounts the dispatcher itself must serve it over HTTP/2 and should set Kestrel's
/// <c>Limits.MinRequestBodyDataRate</c> and <c>MinResponseDataRate</c> to null: a streaming call may legitimately
/// stay silent for a long time, and Kestrel cannot relax those limits per HTTP/2 request.
/// </remarks>
public sealed partial class GrpcRequestDispatcher
{
    // CancelAfter accepts at most ~49 days; a longer grpc-timeout is treated as no deadline.
    private static readonly TimeSpan MaxDeadlineTimer = TimeSpan.FromDays(30);

    private const string HandlerFailedMessage = "Exception was thrown by handler.";

    private readonly FrozenDictionary<string, GrpcServerMethod> _methods;
    private readonly FrozenSet<string> _services;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a dispatcher for the methods of <paramref name="registry"/>, which is frozen from now on.</summary>
    public GrpcRequestDispatcher(GrpcServiceRegistry registry, GrpcServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _methods = registry.Freeze();
        _services = _methods.Values.Select(m => m.ServiceName).ToFrozenSet(StringComparer.Ordinal);
        _options = options;
        _logger = loggerFactory.CreateLogger<GrpcRequestDispatcher>();
    }

    /// <summary>Handles one HTTP request as a gRPC call; usable as a terminal <see cref="RequestDelegate"/>.</summary>
    public Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var response = context.Response;
        if (!HttpMethods.IsPost(request.Method))
        {
            LogRejected(_logger, request.Method, request.Path.Value, "method not allowed");
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "POST";
            return Task.CompletedTask;
        }
        var contentType = request.ContentType;
        if (contentType is null || !GrpcProtocol.IsGrpcContentType(contentType))
        {
            // The gRPC spec: a request that is not gRPC gets HTTP 415, so any HTTP client understands it.
            LogRejected(_logger, request.Method, request.Path.Value, $"content-type '{contentType}'");
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            response.Headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusText(GrpcStatusCode.Internal);
            response.Headers[GrpcProtocol.MessageHeader] = GrpcPercentEncoding.Encode($"Content-Type '{contentType}' is not supported.");
            return Task.CompletedTask;
        }
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            LogRejected(_logger, request.Method, request.Path.Value, $"protocol {request.Protocol}");
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Upgrade = "h2c";
            response.Headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusText(GrpcStatusCode.Internal);
            response.Headers[GrpcProtocol.MessageHeader] = GrpcPercentEncoding.Encode($"gRPC needs HTTP/2, not {request.Protocol}.");
            return Task.CompletedTask;
        }

        response.ContentType = GrpcProtocol.ContentType;
        var path = request.Path.Value ?? string.Empty;
        if (!_methods.TryGetValue(path, out var method))
        {
            var detail = Unimplemented(path);
            LogUnimplemented(_logger, path);
            response.Headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusText(GrpcStatusCode.Unimplemented);
            response.Headers[GrpcProtocol.MessageHeader] = GrpcPercentEncoding.Encode(detail);
            return Task.CompletedTask;
        }

        // Message sizes are limited per message; the body as a whole is a stream of unbounded length.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false, MaxRequestBodySize: not null } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }
        return HandleCallAsync(context, method);
    }

    private async Task HandleCallAsync(HttpContext http, GrpcServerMethod method)
    {
        DateTime? deadline = null;
        CancellationTokenSource? deadlineSource = null;
        var timeoutHeader = http.Request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader.Count > 0)
        {
            if (GrpcTimeout.TryParse(timeoutHeader.ToString(), out var timeout))
            {
                if (timeout < MaxDeadlineTimer)
                {
                    deadline = DateTime.UtcNow + timeout;
                    deadlineSource = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                    deadlineSource.CancelAfter(timeout);
                }
            }
            else
            {
                LogInvalidTimeout(_logger, method.FullName, timeoutHeader.ToString());
            }
        }

        var call = new GrpcCallContext(http, method.FullName, deadline, deadlineSource, _options.MaxSendMessageSize);
        GrpcStatusCode status;
        string? message = null;
        IReadOnlyList<KeyValuePair<string, string>>? trailers = null;
        try
        {
            await method.InvokeAsync(call, _options.MaxReceiveMessageSize).ConfigureAwait(false);
            if (call.DeadlineExpired)
            {
                status = GrpcStatusCode.DeadlineExceeded;
                message = "Deadline exceeded.";
            }
            else
            {
                status = GrpcStatusCode.OK;
            }
        }
        catch (Exception ex) when (http.RequestAborted.IsCancellationRequested || IsConnectionLoss(ex))
        {
            // The client reset the stream or went away: nobody to answer.
            call.IsCompleted = true;
            LogClientAborted(_logger, method.FullName, call.Peer, ex.GetType().Name);
            return;
        }
        catch (GrpcException ex)
        {
            status = ex.Status;
            message = ex.Message;
            trailers = ex.Trailers;
            if (status is GrpcStatusCode.Internal or GrpcStatusCode.Unknown or GrpcStatusCode.DataLoss)
            {
                LogCallFailedBadly(_logger, method.FullName, call.Peer, status, message);
            }
            else
            {
                LogCallFailed(_logger, method.FullName, call.Peer, status, message);
            }
        }
        catch (Exception ex) when (call.DeadlineExpired)
        {
            status = GrpcStatusCode.DeadlineExceeded;
            message = "Deadline exceeded.";
            LogCallFailed(_logger, method.FullName, call.Peer, status, ex.GetType().Name);
        }
        catch (Exception ex)
        {
            // Details stay in the log: exception text can carry internals a client must not see.
            status = GrpcStatusCode.Unknown;
            message = HandlerFailedMessage;
            LogHandlerFailed(_logger, ex, method.FullName, call.Peer);
        }
        finally
        {
            deadlineSource?.Dispose();
        }

        try
        {
            call.WriteStatus(status, message, trailers);
        }
        catch (Exception ex)
        {
            // E.g. invalid custom trailers; the status line itself must still go out.
            LogStatusWriteFailed(_logger, ex, method.FullName);
            http.Abort();
        }
    }

    private string Unimplemented(string path)
    {
        int slash = path.Length > 1 ? path.IndexOf('/', 1) : -1;
        if (slash > 1 && _services.Contains(path[1..slash]))
        {
            return $"Method '{path[(slash + 1)..]}' of service '{path[1..slash]}' is unimplemented.";
        }
        return slash > 1 ? $"Service '{path[1..slash]}' is unimplemented." : $"Path '{path}' is not a gRPC method.";
    }

    // Kestrel can surface a dropped connection as an IOException (or ConnectionResetException, an IOException)
    // from a body read or write before RequestAborted is signalled: that is the client going away, not a handler bug.
    // Storage faults are IOExceptions too (SiloCorruptException), so only connection-level types count.
    private static bool IsConnectionLoss(Exception exception) =>
        exception is Microsoft.AspNetCore.Connections.ConnectionResetException or Microsoft.AspNetCore.Connections.ConnectionAbortedException
        || (exception is IOException && exception.InnerException is System.Net.Sockets.SocketException
            or Microsoft.AspNetCore.Connections.ConnectionResetException or Microsoft.AspNetCore.Connections.ConnectionAbortedException);
}
