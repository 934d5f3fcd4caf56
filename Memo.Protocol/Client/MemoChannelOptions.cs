using System.Net.Security;

namespace Memo.Protocol.Client;

/// <summary>
/// Transport settings of the HTTP/2 channel a <see cref="MemoClient"/> (or
/// <see cref="MemoChannel.Create"/>) opens to a node; validated when the channel is created.
/// </summary>
/// <remarks>
/// <para><b>Why this type exists.</b> <see cref="MemoClientOptions.Channel"/> used to be the options type of Memo's
/// own, hand-written gRPC client, which the standard <c>Grpc.Net.Client</c> replaced.
/// <c>Grpc.Net.Client.GrpcChannelOptions</c> is not a drop-in replacement: it is a mutable class whose connection settings live on a separate
/// <see cref="SocketsHttpHandler"/>, and most of its knobs (retries, service config, credentials, load balancing)
/// are ones the client does not use. This record keeps the knobs Memo's clients had, with the same defaults, and
/// <see cref="MemoChannel.Create"/> maps them onto a <see cref="SocketsHttpHandler"/> and a
/// <c>Grpc.Net.Client.GrpcChannelOptions</c>.</para>
/// </remarks>
public sealed record MemoChannelOptions
{
    /// <summary>The default message size limit each way: 16 MiB.</summary>
    public const int DefaultMaxMessageSize = 16 * 1024 * 1024;

    /// <summary>Largest response message accepted; a larger one fails the call with ResourceExhausted. Default 16 MiB.</summary>
    public int MaxReceiveMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Largest request message sent; a larger one fails the call with ResourceExhausted before sending. Default 16 MiB.</summary>
    public int MaxSendMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Longest a TCP (and TLS) connect may take before the call fails with Unavailable. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Idle time on a connection with active calls before an HTTP/2 PING checks it is alive. Default 60 s, which
    /// stays within grpc-go servers' default ping policy. <see cref="Timeout.InfiniteTimeSpan"/> disables pings.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a keep-alive PING may go unanswered before the connection is closed. Default 20 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>TLS settings for <c>https://</c> targets (e.g. a certificate validation callback); null for system defaults.</summary>
    public SslClientAuthenticationOptions? SslOptions { get; init; }

    /// <summary>
    /// The network's CA certificate (PEM file): TLS 1.3 to the node, whose certificate must be a node certificate that
    /// CA issued with the dialled host among its names; a <c>host:port</c> target then means <c>https://</c>. Null for
    /// none (then <see cref="SslOptions"/> or the system's trust store decide for <c>https://</c> targets).
    /// </summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>
    /// Replaces the default <see cref="SocketsHttpHandler"/> (tests, custom transports); the connection settings
    /// above (connect timeout, keep-alive, TLS) then do not apply. The channel disposes it only when
    /// <see cref="DisposeHttpMessageHandler"/> is set.
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get; init; }

    /// <summary>Whether disposing the channel disposes <see cref="HttpMessageHandler"/>.</summary>
    public bool DisposeHttpMessageHandler { get; init; }

    /// <summary>Returns every problem with these options (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxReceiveMessageSize <= 0)
        {
            errors.Add($"{nameof(MaxReceiveMessageSize)} must be positive, not {MaxReceiveMessageSize}.");
        }
        if (MaxSendMessageSize <= 0)
        {
            errors.Add($"{nameof(MaxSendMessageSize)} must be positive, not {MaxSendMessageSize}.");
        }
        if (CaCertificateFile is not null && SslOptions is not null)
        {
            errors.Add($"{nameof(CaCertificateFile)} and {nameof(SslOptions)} cannot both be set: the CA file makes the TLS options.");
        }
        CheckPositiveOrInfinite(errors, nameof(ConnectTimeout), ConnectTimeout);
        CheckPositiveOrInfinite(errors, nameof(KeepAlivePingDelay), KeepAlivePingDelay);
        CheckPositiveOrInfinite(errors, nameof(KeepAlivePingTimeout), KeepAlivePingTimeout);
        return errors;
    }

    private static void CheckPositiveOrInfinite(List<string> errors, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{name} must be positive or infinite, not {value}.");
        }
    }
}
