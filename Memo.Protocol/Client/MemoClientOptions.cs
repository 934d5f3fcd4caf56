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

    /// <summary>
    /// The network's CA certificate (PEM file, from <c>memo network create</c>): the client then speaks TLS to the node
    /// (a <c>host:port</c> target means <c>https://</c>) and accepts only a node certificate that CA issued for the
    /// host it dialled. Null: <see cref="Channel"/> decides (h2c for <c>host:port</c>). Wins over
    /// <see cref="MemoChannelOptions.CaCertificateFile"/>.
    /// </summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>
    /// The user the client acts as on a network with an owner: its key pair and passport. Every call then carries the
    /// passport and a call token signed here (one ECDSA P-256 signature per call); blocks the client makes are the
    /// user's. Null: anonymous calls.
    /// </summary>
    public Memo.Protocol.Users.UserCredentials? Credentials { get; init; }

    /// <summary>The channel options with <see cref="CaCertificateFile"/> applied.</summary>
    internal MemoChannelOptions? EffectiveChannel =>
        CaCertificateFile is null ? Channel : (Channel ?? new MemoChannelOptions()) with { CaCertificateFile = CaCertificateFile };
}
