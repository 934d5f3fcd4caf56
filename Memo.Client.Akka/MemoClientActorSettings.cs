using Memo.Protocol.Client;

namespace Memo.Client.Akka;

/// <summary>
/// What a <see cref="MemoClientActor"/> connects to and the limits it keeps; checked by
/// <see cref="MemoClientActor.Props"/>, which reports every problem at once.
/// </summary>
/// <param name="Target">The node: <c>host:port</c> (cleartext HTTP/2), <c>http://host:port</c> or <c>https://host:port</c> (TLS).</param>
public sealed record MemoClientActorSettings(string Target)
{
    /// <summary>
    /// The default <see cref="MaxInFlight"/>: 256. One node answers its best throughput with a few dozen concurrent
    /// calls (the project's measurements peak around 64), so 256 leaves headroom for slow calls while a sender that
    /// runs away is told within a few milliseconds instead of after it has queued thousands of calls.
    /// </summary>
    public const int DefaultMaxInFlight = 256;

    /// <summary>
    /// Time limit of each call, sent to the node as the call's gRPC deadline; a call past it answers
    /// <see cref="MemoFailure"/> with DeadlineExceeded. Default 30 s; null for none.
    /// </summary>
    public TimeSpan? Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Transport settings of the channel to the node (message size limits, connect timeout, keep-alive, TLS); defaults when null.</summary>
    public MemoChannelOptions? Channel { get; init; }

    /// <summary>
    /// The network's CA certificate (PEM file, from <c>memo network create</c>): the actor's client speaks TLS 1.3 to the
    /// node (a <c>host:port</c> target means <c>https://</c>) and accepts only a node certificate that CA issued for the
    /// host dialled. Null: cleartext for <c>host:port</c>.
    /// </summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>
    /// Most calls the actor keeps open at once; a request beyond it is answered at once with <see cref="MemoFailure"/>
    /// ResourceExhausted. Default <see cref="DefaultMaxInFlight"/>.
    /// </summary>
    public int MaxInFlight { get; init; } = DefaultMaxInFlight;

    /// <summary>Returns every problem with these settings (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        try
        {
            MemoChannel.ParseTarget(Target, secure: CaCertificateFile is not null);
        }
        catch (ArgumentException e)
        {
            errors.Add(e.Message);
        }
        if (Timeout is { } timeout && timeout <= TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{nameof(Timeout)} must be positive, infinite or null, not {timeout}.");
        }
        if (MaxInFlight < 1)
        {
            errors.Add($"{nameof(MaxInFlight)} must be at least 1, not {MaxInFlight}.");
        }
        if (Channel is not null)
        {
            errors.AddRange(Channel.Validate());
        }
        if (CaCertificateFile is not null && !File.Exists(CaCertificateFile))
        {
            errors.Add($"{nameof(CaCertificateFile)} '{CaCertificateFile}' does not exist.");
        }
        return errors;
    }

    /// <summary>
    /// The user the actor's client acts as on a network with an owner (key pair and passport; every request is signed
    /// client-side, <see cref="MemoClientOptions.Credentials"/>). Null: anonymous.
    /// </summary>
    public Memo.Protocol.Users.UserCredentials? Credentials { get; init; }

    /// <summary>The options of the <see cref="MemoClient"/> the actor owns.</summary>
    internal MemoClientOptions ClientOptions() => new() { Timeout = Timeout, Channel = Channel, CaCertificateFile = CaCertificateFile, Credentials = Credentials };
}
