using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Memo.Node.Api.Hosting;

/// <summary>Settings of an <see cref="ApiServer"/>; <see cref="Validate"/> reports every problem at once.</summary>
public sealed class ApiServerOptions
{
    /// <summary>Grpc.AspNetCore's own default message limit (4 MiB) is below the largest value; ours is 16 MiB.</summary>
    public const int DefaultMaxMessageSize = 16 * 1024 * 1024;

    /// <summary>Endpoints to listen on; port 0 binds an ephemeral port (see <see cref="ApiServer.BoundEndpoints"/>).</summary>
    public IReadOnlyList<IPEndPoint> Endpoints { get; init; } = [];

    /// <summary>
    /// More endpoints as <c>host:port</c> text: an IP address (IPv6 in brackets), <c>localhost</c> (IPv4 loopback),
    /// <c>*</c> (all IPv4 interfaces), or a host name resolved at start.
    /// </summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>Largest request message accepted; larger ones fail with ResourceExhausted. Default 16 MiB.</summary>
    public int MaxReceiveMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Largest response message sent; a handler returning a larger one fails the call with ResourceExhausted. Default 16 MiB.</summary>
    public int MaxSendMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>
    /// Time limit of a unary call whose client sent no deadline (<c>grpc-timeout</c>): its handler's token is cancelled
    /// then and the call ends with DEADLINE_EXCEEDED. <see cref="Timeout.InfiniteTimeSpan"/> for none. Default 30 s.
    /// </summary>
    public TimeSpan DefaultDeadline { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>When set, every endpoint uses TLS 1.3 with ALPN <c>h2</c> and this certificate (with private key); otherwise h2c.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Where the server counts finished calls (the dashboard's request rate); a fresh tally by default.</summary>
    public Memo.Node.Metrics.ApiCallCounts CallCounts { get; init; } = new();

    /// <summary>HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. Default 100; clients open another connection beyond it.</summary>
    public int MaxConcurrentStreamsPerConnection { get; init; } = 100;

    /// <summary>Most open connections; further ones are refused. Default 10,000.</summary>
    public long MaxConnections { get; init; } = 10_000;

    /// <summary>Most open connections from one client address (IPv6: one /64); further ones are closed at once. Default 64.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 64;

    /// <summary>
    /// Bytes of request messages buffered at once across every call: a message reserves its declared length before it
    /// is buffered (see <see cref="BudgetedRequestReader"/>). Must hold the largest message. Default 256 MiB.
    /// </summary>
    public long RequestBufferBudget { get; init; } = 256L * 1024 * 1024;

    /// <summary>How long a message may wait for buffering budget before its call ends RESOURCE_EXHAUSTED. Default 1 s.</summary>
    public TimeSpan RequestBufferWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Minimum rate, bytes per second, at which a message holding buffering budget must keep arriving (at least this
    /// times <see cref="MinRequestDataRateGracePeriod"/> more bytes in every grace period), checked per call by
    /// <see cref="BudgetedRequestReader"/>, which also holds a unary or server-streaming body to one grace period
    /// without progress; 0 for none. Default 4 KiB/s. Kestrel's own, connection-wide rate is not used.
    /// </summary>
    public long MinRequestDataRate { get; init; } = 4096;

    /// <summary>The period over which a message's progress is checked, and the longest a unary or server-streaming body
    /// may go without completing a message prefix or its end. Default 5 s.</summary>
    public TimeSpan MinRequestDataRateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>HTTP/2 connection receive window, bytes. Default 1 MiB.</summary>
    public int InitialConnectionWindowSize { get; init; } = 1024 * 1024;

    /// <summary>HTTP/2 per-stream receive window, bytes. Default 768 KiB.</summary>
    public int InitialStreamWindowSize { get; init; } = 768 * 1024;

    /// <summary>
    /// Bytes of each block of the server's memory pool (<see cref="ReceiveBlockPool"/>), which the socket reads into and
    /// Kestrel's pipes are made of: a read takes up to one block. Between 4 KiB (Kestrel's own) and 1 MiB. Default
    /// 64 KiB: a 1 MiB request arrives in 16 reads instead of 256; an idle connection holds no block.
    /// </summary>
    public int ReceiveBlockSize { get; init; } = ReceiveBlockPool.MinBlockSize;

    /// <summary>Largest HTTP/2 header block accepted, bytes. Default 32 KiB.</summary>
    public int MaxRequestHeaderFieldSize { get; init; } = 32 * 1024;

    /// <summary>Idle time before the server PINGs a connection to detect dead clients. Default 60 s; <see cref="Timeout.InfiniteTimeSpan"/> disables.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a PING may go unanswered before the connection is closed. Default 20 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>On stop, how long in-flight calls may run before their connections are aborted. Default 10 s.</summary>
    public TimeSpan ShutdownGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most verbose level at which ASP.NET Core's own categories (<c>Microsoft.AspNetCore.*</c>, <c>Grpc.*</c>,
    /// hosting) reach the logger factory. Default Warning: per-request and per-connection lines stay off.
    /// </summary>
    public Microsoft.Extensions.Logging.LogLevel FrameworkLogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Warning;

    /// <summary>Returns every problem with these options (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Endpoints.Count + Addresses.Count == 0)
        {
            errors.Add($"At least one of {nameof(Endpoints)} or {nameof(Addresses)} is needed.");
        }
        foreach (var address in Addresses)
        {
            if (!ApiServer.TrySplitHostPort(address, out _, out _))
            {
                errors.Add($"Invalid listen address '{address}': expected host:port.");
            }
        }
        Positive(errors, nameof(MaxReceiveMessageSize), MaxReceiveMessageSize);
        Positive(errors, nameof(MaxSendMessageSize), MaxSendMessageSize);
        Positive(errors, nameof(MaxConcurrentStreamsPerConnection), MaxConcurrentStreamsPerConnection);
        Positive(errors, nameof(MaxConnections), MaxConnections);
        Positive(errors, nameof(MaxRequestHeaderFieldSize), MaxRequestHeaderFieldSize);
        Positive(errors, nameof(MaxConnectionsPerAddress), MaxConnectionsPerAddress);
        // A message the server accepts must fit in the budget, prefix included, or it could never be read.
        if (RequestBufferBudget < (long)Math.Max(MaxReceiveMessageSize, 0) + 5)
        {
            errors.Add($"{nameof(RequestBufferBudget)} ({RequestBufferBudget}) must hold the largest request message, {nameof(MaxReceiveMessageSize)} + 5 bytes.");
        }
        if (RequestBufferWait < TimeSpan.Zero)
        {
            errors.Add($"{nameof(RequestBufferWait)} cannot be negative.");
        }
        if (MinRequestDataRate < 0)
        {
            errors.Add($"{nameof(MinRequestDataRate)} cannot be negative.");
        }
        // Over a second, as the HOCON key's range says: shorter would cut a client that a scheduler pause delayed.
        if (MinRequestDataRate > 0 && MinRequestDataRateGracePeriod <= TimeSpan.FromSeconds(1))
        {
            errors.Add($"{nameof(MinRequestDataRateGracePeriod)} must be more than 1 s, not {MinRequestDataRateGracePeriod}.");
        }
        if (DefaultDeadline <= TimeSpan.Zero && DefaultDeadline != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{nameof(DefaultDeadline)} must be positive or infinite, not {DefaultDeadline}.");
        }
        // Kestrel's bounds: windows between 64 KiB and 2^31 - 1.
        if (InitialConnectionWindowSize < 65_535)
        {
            errors.Add($"{nameof(InitialConnectionWindowSize)} must be at least 65535, not {InitialConnectionWindowSize}.");
        }
        if (InitialStreamWindowSize < 65_535)
        {
            errors.Add($"{nameof(InitialStreamWindowSize)} must be at least 65535, not {InitialStreamWindowSize}.");
        }
        if (ReceiveBlockSize is < ReceiveBlockPool.MinBlockSize or > ReceiveBlockPool.MaxBlockSize)
        {
            errors.Add($"{nameof(ReceiveBlockSize)} must be between {ReceiveBlockPool.MinBlockSize} and {ReceiveBlockPool.MaxBlockSize} bytes, not {ReceiveBlockSize}.");
        }
        if (KeepAlivePingDelay < TimeSpan.FromSeconds(1) && KeepAlivePingDelay != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{nameof(KeepAlivePingDelay)} must be at least 1 s or infinite, not {KeepAlivePingDelay}.");
        }
        if (KeepAlivePingTimeout <= TimeSpan.Zero && KeepAlivePingTimeout != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{nameof(KeepAlivePingTimeout)} must be positive or infinite, not {KeepAlivePingTimeout}.");
        }
        if (ShutdownGracePeriod < TimeSpan.Zero)
        {
            errors.Add($"{nameof(ShutdownGracePeriod)} cannot be negative.");
        }
        if (Certificate is { HasPrivateKey: false })
        {
            errors.Add($"{nameof(Certificate)} must include its private key.");
        }
        return errors;
    }

    private static void Positive(List<string> errors, string name, long value)
    {
        if (value <= 0)
        {
            errors.Add($"{name} must be positive, not {value}.");
        }
    }
}
