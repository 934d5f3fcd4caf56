namespace Memo.Protocol.Client;

/// <summary>Options of a <see cref="MemoClient"/>.</summary>
public sealed record MemoClientOptions
{
    /// <summary>
    /// Default time limit of each call, turned into the call's gRPC deadline when it starts (sent as
    /// <c>grpc-timeout</c> and enforced locally); null for none.
    /// </summary>
    public TimeSpan? Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Transport options (message size limits, connect timeout, keep-alive, TLS, a custom handler); defaults when null.
    /// <see cref="MemoChannelOptions"/> keeps the settings of the hand-written client this type replaced and says why
    /// the type changed.
    /// </summary>
    public MemoChannelOptions? Channel { get; init; }
}
