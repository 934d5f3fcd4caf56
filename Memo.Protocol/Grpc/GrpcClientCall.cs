using System.Net;
using System.Net.Http.Headers;

namespace Memo.Protocol.Grpc;

/// <summary>
/// The state of one client call: its deadline and cancellation, the HTTP response, the message reader and,
/// once known, the final status. Every failure leaves here as a <see cref="GrpcException"/> (see <see cref="Map"/>).
/// </summary>
/// <remarks>
/// Thread-safety: reads happen on one logical thread at a time; <see cref="Dispose"/> and <see cref="Cancel"/>
/// may race with a pending read (duplex calls), so the pooled read buffer is released by whichever of the two
/// finishes last.
/// </remarks>
internal sealed class GrpcClientCall<TRequest, TResponse> : IDisposable
    where TRequest : class, Google.Protobuf.IMessage<TRequest>
    where TResponse : class, Google.Protobuf.IMessage<TResponse>
{
    // CancelAfter accepts at most ~49 days; a deadline further away is only sent to the server.
    private static readonly TimeSpan MaxLocalTimer = TimeSpan.FromDays(30);

    private readonly GrpcChannel _channel;
    private readonly GrpcMethod<TRequest, TResponse> _method;
    private readonly GrpcCallOptions _options;
    private readonly CancellationTokenSource? _cts;
    private readonly DateTime? _deadline;
    private readonly PushRequestContent? _push;
    private HttpResponseMessage? _response;
    private GrpcResponseReader? _reader;
    private GrpcException? _failure;
    private volatile bool _completed;
    private volatile bool _cancelledLocally;
    private int _readInProgress;
    private int _disposed;

    public GrpcClientCall(
        GrpcChannel channel,
        GrpcMethod<TRequest, TResponse> method,
        in GrpcCallOptions options,
        PushRequestContent? push = null)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _push = push;
        var now = DateTime.UtcNow;
        _deadline = options.EffectiveDeadline(now);
        if (_deadline is not null || push is not null)
        {
            // Own source only when needed: a deadline timer, or a duplex call that Dispose must be able to cancel.
            _cts = options.CancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken)
                : new CancellationTokenSource();
            if (_deadline is { } deadline)
            {
                var remaining = deadline - now;
                if (remaining <= TimeSpan.Zero)
                {
                    _cts.Cancel();
                }
                else if (remaining < MaxLocalTimer)
                {
                    _cts.CancelAfter(remaining);
                }
            }
            Token = _cts.Token;
        }
        else
        {
            Token = options.CancellationToken;
        }
    }

    /// <summary>Cancelled by the caller's token, the deadline, or <see cref="Cancel"/>.</summary>
    public CancellationToken Token { get; }

    /// <summary>True once the final status is known (trailers read, or a failure).</summary>
    public bool IsCompleted => _completed;

    /// <summary>The final error, once known; null while running or after OK.</summary>
    public GrpcException? Failure => _failure;

    /// <summary>Sends the request headers and <paramref name="content"/>; returns once the response headers arrived.</summary>
    public async Task StartAsync(HttpContent content)
    {
        if (_deadline is { } deadline && deadline <= DateTime.UtcNow)
        {
            content.Dispose();
            throw Complete(DeadlineExceeded(null));
        }
        if (Token.IsCancellationRequested)
        {
            content.Dispose();
            throw Complete(Map(new OperationCanceledException(Token)));
        }
        var request = _channel.CreateRequest(_method.FullName, content, _options, _deadline);
        HttpResponseMessage response;
        try
        {
            response = await _channel.Invoker.SendAsync(request, Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            request.Dispose();
            throw Complete(Map(ex));
        }
        _response = response;
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw Complete(Map(new OperationCanceledException("The call was disposed while starting.")));
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw Complete(new GrpcException(
                GrpcProtocol.FromHttpStatus((int)response.StatusCode),
                $"Bad gRPC response from {_channel.Target}: HTTP status {(int)response.StatusCode} ({response.ReasonPhrase})."));
        }
        if (HeaderValue(response.Headers, GrpcProtocol.StatusHeader) is not null)
        {
            // Trailers-only response: the status is in the headers and there is no body.
            CompleteWithStatus(response.Headers);
            return;
        }
        var contentType = HeaderValue(response.Content.Headers, "content-type");
        if (contentType is null || !GrpcProtocol.IsGrpcContentType(contentType))
        {
            throw Complete(new GrpcException(
                GrpcStatusCode.Internal,
                $"Bad gRPC response from {_channel.Target}: content-type '{contentType}' is not {GrpcProtocol.ContentType}."));
        }
        Stream body;
        try
        {
            body = await response.Content.ReadAsStreamAsync(Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Complete(Map(ex));
        }
        _reader = new GrpcResponseReader(body, _channel.Options.MaxReceiveMessageSize, HeaderValue(response.Headers, GrpcProtocol.EncodingHeader));
    }

    /// <summary>Reads the next response message; null once the stream ended (the status is then known).</summary>
    public async ValueTask<TResponse?> ReadMessageAsync()
    {
        if (_completed)
        {
            return null;
        }
        Interlocked.Exchange(ref _readInProgress, 1);
        try
        {
            var reader = _reader ?? throw new InvalidOperationException("The call has not started.");
            TResponse? message;
            try
            {
                message = await reader.ReadAsync(_method.ResponseParser, Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw Complete(Map(ex));
            }
            if (message is null)
            {
                CompleteWithStatus(_response!.TrailingHeaders);
            }
            return message;
        }
        finally
        {
            Interlocked.Exchange(ref _readInProgress, 0);
            if (_completed || Volatile.Read(ref _disposed) != 0)
            {
                ReleaseReader();
            }
        }
    }

    /// <summary>Throws the final status when it is an error.</summary>
    public void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Cancels the call locally; the server sees RST_STREAM(CANCEL) and the client reports Cancelled.</summary>
    public void Cancel()
    {
        if (_completed)
        {
            return;
        }
        _cancelledLocally = true;
        try
        {
            _cts?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently: the call is over anyway.
        }
        _response?.Dispose();
    }

    /// <summary>
    /// Maps any failure of a request write to what the caller should see: the call's final status when the
    /// server already ended it, else the mapped transport error.
    /// </summary>
    public Exception MapWriteFailure(Exception ex)
    {
        if (_failure is { } failure)
        {
            return failure;
        }
        if (_completed)
        {
            return new InvalidOperationException("The call is already complete; no more requests can be written.", ex);
        }
        return Map(ex);
    }

    /// <summary>Maps an exception raised while running the call to the status the caller sees.</summary>
    public GrpcException Map(Exception ex)
    {
        if (ex is GrpcException grpc)
        {
            return grpc;
        }
        // Cancellation and deadlines win over whatever transport error the abort produced.
        if (_cancelledLocally || _options.CancellationToken.IsCancellationRequested)
        {
            return new GrpcException(GrpcStatusCode.Cancelled, "The call was cancelled by the client.", null, ex);
        }
        if (_deadline is { } deadline && (_cts!.IsCancellationRequested || DateTime.UtcNow >= deadline))
        {
            return DeadlineExceeded(ex);
        }
        var protocol = ex as HttpProtocolException ?? ex.InnerException as HttpProtocolException;
        if (protocol is not null)
        {
            return new GrpcException(
                GrpcProtocol.FromHttp2ErrorCode(protocol.ErrorCode),
                $"The HTTP/2 stream to {_channel.Target} failed: {protocol.Message}",
                null,
                ex);
        }
        return ex switch
        {
            HttpRequestException => new GrpcException(GrpcStatusCode.Unavailable, $"{_channel.Target} is not reachable: {Describe(ex)}", null, ex),
            OperationCanceledException => new GrpcException(GrpcStatusCode.Unavailable, $"{_channel.Target} is not reachable: the connection attempt timed out.", null, ex),
            IOException => new GrpcException(GrpcStatusCode.Unavailable, $"The connection to {_channel.Target} failed: {Describe(ex)}", null, ex),
            ObjectDisposedException => new GrpcException(GrpcStatusCode.Unavailable, $"The channel to {_channel.Target} is disposed.", null, ex),
            _ => new GrpcException(GrpcStatusCode.Unknown, $"The call to {_channel.Target} failed: {Describe(ex)}", null, ex),
        };
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (!_completed)
        {
            // Abandoned before the status: reset the stream so the server stops working on it.
            _cancelledLocally = true;
            _push?.Abort(new ObjectDisposedException(nameof(GrpcDuplexCall<TRequest, TResponse>)));
        }
        _response?.Dispose();
        if (Volatile.Read(ref _readInProgress) == 0)
        {
            ReleaseReader();
        }
        _cts?.Dispose();
    }

    private GrpcException DeadlineExceeded(Exception? inner) =>
        new(GrpcStatusCode.DeadlineExceeded, $"The deadline of the call to {_method.FullName} on {_channel.Target} expired.", null, inner);

    private void ReleaseReader() => Interlocked.Exchange(ref _reader, null)?.Dispose();

    // Records a failure as the final status, tears the stream down, and returns it for throwing.
    private GrpcException Complete(GrpcException failure)
    {
        _failure ??= failure;
        _completed = true;
        _push?.Abort(_failure);
        _response?.Dispose();
        return _failure;
    }

    private void CompleteWithStatus(HttpHeaders headers)
    {
        var statusText = HeaderValue(headers, GrpcProtocol.StatusHeader);
        if (statusText is null)
        {
            Complete(new GrpcException(GrpcStatusCode.Internal, $"The response from {_channel.Target} ended without a grpc-status."));
            return;
        }
        if (!GrpcProtocol.TryParseStatus(statusText, out var status))
        {
            Complete(new GrpcException(GrpcStatusCode.Internal, $"The response from {_channel.Target} has an invalid grpc-status '{statusText}'."));
            return;
        }
        if (status == GrpcStatusCode.OK)
        {
            _completed = true;
            _push?.Abort(new InvalidOperationException("The call is already complete; no more requests can be written."));
            return;
        }
        var message = HeaderValue(headers, GrpcProtocol.MessageHeader);
        Complete(new GrpcException(
            status,
            message is null ? string.Empty : GrpcPercentEncoding.Decode(message),
            CustomMetadata(headers)));
    }

    private static List<KeyValuePair<string, string>>? CustomMetadata(HttpHeaders headers)
    {
        List<KeyValuePair<string, string>>? metadata = null;
        foreach (var (name, values) in headers.NonValidated)
        {
            if (name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase) || name.Equals("content-type", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var value in values)
            {
                (metadata ??= []).Add(new(name.ToLowerInvariant(), value));
            }
        }
        return metadata;
    }

    private static string? HeaderValue(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;

    private static string Describe(Exception ex) =>
        ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? $"{ex.Message} ({inner.Message})"
            : ex.Message;
}
