using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Memo.Protocol.Security;
using Grpc.Net.Client;

namespace Memo.Protocol.Client;

/// <summary>
/// Opens the <see cref="GrpcChannel"/> Memo's clients use: one per target, all calls multiplexed over HTTP/2.
/// <see cref="MemoClient"/> opens its channel here; so does <c>memo bench kv</c>,
/// for the node and for etcd alike, so both are measured through the same client.
/// </summary>
public static class MemoChannel
{
    /// <summary>Creates a channel; no connection is made until the first call.</summary>
    /// <param name="target"><c>host:port</c> or <c>http://host:port</c> (cleartext HTTP/2, h2c), or <c>https://host:port</c> (TLS).</param>
    /// <param name="options">Limits and connection settings; defaults when null.</param>
    /// <exception cref="ArgumentException">The target or the options are invalid (all problems listed).</exception>
    /// <exception cref="CertificateFileException">The CA file (<see cref="MemoChannelOptions.CaCertificateFile"/>) is unreadable.</exception>
    public static GrpcChannel Create(string target, MemoChannelOptions? options = null)
    {
        options ??= new MemoChannelOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid channel options: " + string.Join(" ", errors), nameof(options));
        }
        var address = ParseTarget(target, secure: options.CaCertificateFile is not null);
        if (options.CaCertificateFile is not null)
        {
            if (address.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException($"Invalid target '{target}': a CA file means TLS, so the target cannot be http://.", nameof(target));
            }
            // The trust lives as long as the handler's callback: the channel's lifetime.
            var trust = NetworkTrust.Load(options.CaCertificateFile);
            options = options with
            {
                SslOptions = new SslClientAuthenticationOptions
                {
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = trust.ServerValidator(),
                },
            };
        }
        var handler = options.HttpMessageHandler ?? CreateHandler(options);
        // An HttpClient rather than a bare handler: given a SocketsHttpHandler, Grpc.Net.Client routes every call
        // through its load-balancing layer (BalancerHttpHandler, subchannels), which Memo's one-target channels do not
        // use; measured, that layer took ~25% of the bench client's CPU at 64 concurrent gets.
        var http = new HttpClient(handler, disposeHandler: options.HttpMessageHandler is null || options.DisposeHttpMessageHandler)
        {
            // Deadlines bound calls; HttpClient's own 100 s limit would cut long streams and slow calls.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpClient = http,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            MaxSendMessageSize = options.MaxSendMessageSize,
            // Cancellation surfaces as status CANCELLED, like every other failure, so callers catch one exception type.
            ThrowOperationCanceledOnCancellation = false,
        });
    }

    /// <summary>The address a target means: <c>host:port</c> is <c>http://host:port</c>.</summary>
    /// <exception cref="ArgumentException">Not <c>host:port</c>, <c>http://host:port</c> or <c>https://host:port</c>.</exception>
    public static Uri ParseTarget(string target) => ParseTarget(target, secure: false);

    /// <summary>The address a target means: <c>host:port</c> is <c>https://host:port</c> when <paramref name="secure"/>,
    /// else <c>http://host:port</c>.</summary>
    /// <exception cref="ArgumentException">Not <c>host:port</c>, <c>http://host:port</c> or <c>https://host:port</c>.</exception>
    public static Uri ParseTarget(string target, bool secure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        var text = target.Contains("://", StringComparison.Ordinal) ? target : (secure ? "https://" : "http://") + target;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"Invalid target '{target}': expected host:port, http://host:port or https://host:port.", nameof(target));
        }
        return uri;
    }

    private static SocketsHttpHandler CreateHandler(MemoChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // More calls than the server's concurrent-stream limit open another connection instead of queueing.
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            // Grpc.Net.Client connects through this handler's settings, including this timeout.
            ConnectTimeout = options.ConnectTimeout,
            // A proxy would defeat Grpc.Net.Client's own connection management (and h2c does not cross HTTP proxies).
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
