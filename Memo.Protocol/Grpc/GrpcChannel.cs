using System.Collections.Concurrent;
using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Memo.Protocol.Grpc;

/// <summary>
/// A gRPC client for one target (<c>host:port</c>, <c>http://host:port</c>, or <c>https://host:port</c>): all calls
/// share one HTTP/2 connection pool and are multiplexed as streams.
/// </summary>
/// <remarks>
/// <para><b>Design note.</b> The gRPC NuGet packages do not restore in this build, so this is a small, standard
/// implementation of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md) on top of <see cref="SocketsHttpHandler"/>.</para>
/// <para>Implemented: cleartext HTTP/2 with prior knowledge (h2c) for <c>http://</c>, TLS with ALPN h2 for
/// <c>https://</c>; unary, server-streaming, client-streaming and duplex calls; the 5-byte length-prefixed
/// framing (<see cref="GrpcFraming"/>) with send and receive size limits, the receive limit checked from the prefix
/// before the payload is read; <c>te: trailers</c>, <c>content-type: application/grpc</c>, <c>user-agent</c>,
/// custom request metadata; deadlines sent as <c>grpc-timeout</c> (<see cref="GrpcTimeout"/>) and enforced locally;
/// cancellation propagated as RST_STREAM(CANCEL); status from trailers or from a trailers-only response, with
/// <c>grpc-message</c> percent-decoded (<see cref="GrpcPercentEncoding"/>) and custom trailers kept on the
/// exception; HTTP statuses and HTTP/2 reset codes mapped to gRPC statuses as the spec's tables say; transport
/// failures reported as Unavailable naming the target. Keep-alive PINGs run while calls are active.</para>
/// <para>Not implemented: message compression (we never compress and do not advertise any
/// <c>grpc-accept-encoding</c>, so a conforming server never compresses; a compressed response fails the call),
/// grpc-web, name resolution schemes and client-side load balancing (<c>dns:///</c>, xDS), retries and hedging,
/// service config, and binary metadata helpers (<c>-bin</c> values pass through as base64 text). These add
/// surface and per-call cost that the node and its peers do not need.</para>
/// <para>Cost per call: the HTTP request/response objects that <see cref="HttpMessageInvoker"/> needs, one pooled
/// buffer per message sent (returned when the write completes) and one pooled read buffer per call; no linked
/// cancellation source unless a deadline is set. <see cref="HttpMessageInvoker"/> is used instead of
/// <see cref="HttpClient"/> because HttpClient adds its own timeout source and default-header merging to every
/// request; the connection pool (one shared handler) is the same.</para>
/// </remarks>
public sealed class GrpcChannel : IDisposable
{
    private static readonly string UserAgent = "memo-dotnet/" +
        (typeof(GrpcChannel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0");

    // Bounded by the number of distinct methods called through this channel.
    private readonly ConcurrentDictionary<string, Uri> _uris = new(StringComparer.Ordinal);
    private readonly string _baseAddress;
    private int _disposed;

    /// <summary>Creates a channel; no connection is made until the first call.</summary>
    /// <param name="target"><c>host:port</c> or <c>http://host:port</c> (h2c), or <c>https://host:port</c> (TLS).</param>
    /// <param name="options">Limits and connection settings; defaults when null.</param>
    /// <exception cref="ArgumentException">The target or the options are invalid (all problems listed).</exception>
    public GrpcChannel(string target, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        Options = options ?? new GrpcChannelOptions();
        var errors = Options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid gRPC channel options: " + string.Join(" ", errors), nameof(options));
        }
        Address = ParseTarget(target);
        Target = Address.Authority;
        _baseAddress = Address.GetLeftPart(UriPartial.Authority);
        if (Options.HttpMessageHandler is { } handler)
        {
            Invoker = new HttpMessageInvoker(handler, Options.DisposeHttpMessageHandler);
        }
        else
        {
            Invoker = new HttpMessageInvoker(CreateHandler(Options), disposeHandler: true);
        }
    }

    /// <summary>The target as <c>host:port</c>, used in error messages.</summary>
    public string Target { get; }

    /// <summary>The base address calls go to (<c>http://host:port/</c> or <c>https://host:port/</c>).</summary>
    public Uri Address { get; }

    /// <summary>The channel's options.</summary>
    public GrpcChannelOptions Options { get; }

    internal HttpMessageInvoker Invoker { get; }

    /// <summary>Calls a unary method.</summary>
    /// <exception cref="GrpcException">Any non-OK status, received or derived (Unavailable, DeadlineExceeded, Cancelled, ...).</exception>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        TRequest request,
        GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckCall(method, GrpcMethodKind.Unary);
        var content = new UnaryRequestContent(request, Options.MaxSendMessageSize);
        using var call = new GrpcClientCall<TRequest, TResponse>(this, method, options);
        await call.StartAsync(content).ConfigureAwait(false);
        var response = await call.ReadMessageAsync().ConfigureAwait(false);
        if (response is null)
        {
            call.ThrowIfFailed();
            throw new GrpcException(GrpcStatusCode.Internal, $"{method.FullName} on {Target} returned OK without a response message.");
        }
        if (await call.ReadMessageAsync().ConfigureAwait(false) is not null)
        {
            throw new GrpcException(GrpcStatusCode.Internal, $"{method.FullName} on {Target} sent more than one response message to a unary call.");
        }
        call.ThrowIfFailed();
        return response;
    }

    /// <summary>
    /// Calls a server-streaming method. The call starts when enumeration starts (so does its timeout); breaking
    /// out of the enumeration (or cancelling the enumerator's token) cancels it.
    /// </summary>
    /// <exception cref="GrpcException">Thrown by the enumeration for any non-OK status.</exception>
    public IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        TRequest request,
        GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckCall(method, GrpcMethodKind.ServerStreaming);
        return ServerStreamingCoreAsync(method, request, options, default);
    }

    /// <summary>
    /// Calls a client-streaming method: sends every message of <paramref name="requests"/> (enumerated with the
    /// call's token), then returns the single response. An exception thrown by <paramref name="requests"/>
    /// itself propagates unchanged (the call is cancelled).
    /// </summary>
    /// <exception cref="GrpcException">Any non-OK status.</exception>
    public async Task<TResponse> ClientStreamingAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        IAsyncEnumerable<TRequest> requests,
        GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(requests);
        CheckCall(method, GrpcMethodKind.ClientStreaming);
        using var call = new GrpcClientCall<TRequest, TResponse>(this, method, options);
        var content = new EnumerableRequestContent<TRequest>(requests, Options.MaxSendMessageSize, call.Token);
        TResponse? response;
        try
        {
            await call.StartAsync(content).ConfigureAwait(false);
            response = await call.ReadMessageAsync().ConfigureAwait(false);
        }
        catch (GrpcException) when (content.SourceFailure is { } sourceFailure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(sourceFailure);
            throw;
        }
        if (response is null)
        {
            call.ThrowIfFailed();
            throw new GrpcException(GrpcStatusCode.Internal, $"{method.FullName} on {Target} returned OK without a response message.");
        }
        if (await call.ReadMessageAsync().ConfigureAwait(false) is not null)
        {
            throw new GrpcException(GrpcStatusCode.Internal, $"{method.FullName} on {Target} sent more than one response message to a client-streaming call.");
        }
        call.ThrowIfFailed();
        return response;
    }

    /// <summary>
    /// Starts a duplex-streaming call: write requests with <see cref="GrpcDuplexCall{TRequest,TResponse}.WriteAsync"/>,
    /// end them with <see cref="GrpcDuplexCall{TRequest,TResponse}.CompleteAsync"/>, read
    /// <see cref="GrpcDuplexCall{TRequest,TResponse}.Responses"/>. Dispose the call when done; disposing an
    /// unfinished call cancels it.
    /// </summary>
    public GrpcDuplexCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        CheckCall(method, GrpcMethodKind.DuplexStreaming);
        var content = new PushRequestContent();
        var call = new GrpcClientCall<TRequest, TResponse>(this, method, options, content);
        return new GrpcDuplexCall<TRequest, TResponse>(call, content, Options.MaxSendMessageSize);
    }

    /// <summary>Closes the connections; calls in flight fail.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Invoker.Dispose();
        }
    }

    internal HttpRequestMessage CreateRequest(string fullName, HttpContent content, in GrpcCallOptions options, DateTime? deadline)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, MethodUri(fullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation("te", GrpcProtocol.TeTrailers);
        headers.TryAddWithoutValidation("user-agent", UserAgent);
        if (deadline is { } d)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Encode(d - DateTime.UtcNow));
        }
        if (options.Headers is { } metadata)
        {
            foreach (var (name, value) in metadata)
            {
                if (!IsValidMetadataName(name))
                {
                    request.Dispose();
                    throw new ArgumentException($"Invalid request metadata name '{name}': use lower-case ASCII, not starting with 'grpc-' or ':'.");
                }
                headers.TryAddWithoutValidation(name, value);
            }
        }
        return request;
    }

    private async IAsyncEnumerable<TResponse> ServerStreamingCoreAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        TRequest request,
        GrpcCallOptions options,
        [EnumeratorCancellation] CancellationToken enumeratorToken)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var content = new UnaryRequestContent(request, Options.MaxSendMessageSize);
        using var call = new GrpcClientCall<TRequest, TResponse>(this, method, options);
        using var registration = enumeratorToken.CanBeCanceled
            ? enumeratorToken.UnsafeRegister(static state => ((GrpcClientCall<TRequest, TResponse>)state!).Cancel(), call)
            : default;
        await call.StartAsync(content).ConfigureAwait(false);
        while (await call.ReadMessageAsync().ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
        call.ThrowIfFailed();
    }

    private void CheckCall<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, GrpcMethodKind kind)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Kind != kind)
        {
            throw new ArgumentException($"{method.FullName} is a {method.Kind} method, not {kind}.", nameof(method));
        }
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
    }

    private Uri MethodUri(string fullName) =>
        _uris.TryGetValue(fullName, out var uri) ? uri : _uris.GetOrAdd(fullName, static (name, self) => new Uri(self._baseAddress + name), this);

    private static bool IsValidMetadataName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.StartsWith("grpc-", StringComparison.Ordinal) || name[0] == ':')
        {
            return false;
        }
        foreach (char c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
            {
                return false;
            }
        }
        return !name.Equals("te", StringComparison.Ordinal) && !name.Equals("content-type", StringComparison.Ordinal) && !name.Equals("user-agent", StringComparison.Ordinal);
    }

    private static Uri ParseTarget(string target)
    {
        var text = target.Contains("://", StringComparison.Ordinal) ? target : "http://" + target;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"Invalid gRPC target '{target}': expected host:port, http://host:port or https://host:port.", nameof(target));
        }
        return uri;
    }

    private static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // More than the server's concurrent-stream limit of calls opens another connection instead of queueing.
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = options.ConnectTimeout,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            // No W3C trace headers on every call; the node does its own tracing.
            ActivityHeadersPropagator = null,
        };
        if (options.SslOptions is { } ssl)
        {
            handler.SslOptions = ssl;
        }
        return handler;
    }
}
