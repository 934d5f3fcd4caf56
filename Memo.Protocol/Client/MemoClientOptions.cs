using Memo.Protocol.Grpc;

namespace Memo.Protocol.Client;

/// <summary>Options of a <see cref="MemoClient"/>.</summary>
public sealed record MemoClientOptions
{
    /// <summary>Default time limit of each call (sent as <c>grpc-timeout</c>); null for none.</summary>
    public TimeSpan? Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Transport options (message size limits, TLS handler).</summary>
    public GrpcChannelOptions? Channel { get; init; }
}
