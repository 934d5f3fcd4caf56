using System.Net.Security;

namespace Memo.Protocol.Grpc;

/// <summary>Settings of a <see cref="GrpcChannel"/>; validated when the channel is created.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted; larger ones fail the call with ResourceExhausted. Default 16 MiB.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Largest request message sent; larger ones fail the call with ResourceExhausted before sending. Default 16 MiB.</summary>
    public int MaxSendMessageSize { get; init; } = GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>
    /// Replaces the default <see cref="SocketsHttpHandler"/> (tests, custom transports). The channel does not
    /// dispose it unless <see cref="DisposeHttpMessageHandler"/> is set. Connection settings below are then ignored.
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get; init; }

    /// <summary>Whether disposing the channel disposes <see cref="HttpMessageHandler"/>.</summary>
    public bool DisposeHttpMessageHandler { get; init; }

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
        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{nameof(ConnectTimeout)} must be positive or infinite, not {ConnectTimeout}.");
        }
        if (KeepAlivePingDelay <= TimeSpan.Zero && KeepAlivePingDelay != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{nameof(KeepAlivePingDelay)} must be positive or infinite, not {KeepAlivePingDelay}.");
        }
        if (KeepAlivePingTimeout <= TimeSpan.Zero && KeepAlivePingTimeout != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{nameof(KeepAlivePingTimeout)} must be positive or infinite, not {KeepAlivePingTimeout}.");
        }
        return errors;
    }
}
