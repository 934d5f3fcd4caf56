namespace Memo.Node.Configuration;

/// <summary>Limits of the gRPC server that clients and peers talk to (<c>memo.grpc</c>).</summary>
/// <param name="MaxReceiveMessageSize">Largest request message accepted, in bytes.</param>
/// <param name="MaxSendMessageSize">Largest response message sent, in bytes.</param>
/// <param name="MaxConcurrentStreams">HTTP/2 streams one connection may have open at once.</param>
/// <param name="DefaultDeadline">Time limit of a unary call whose client sent no deadline.</param>
/// <param name="MaxConnectionsPerAddress">Open connections one client address (IPv6: one /64) may hold.</param>
/// <param name="RequestBufferBudget">Bytes of request messages buffered at once across every call.</param>
/// <param name="RequestBufferWait">How long a message may wait for buffering budget before RESOURCE_EXHAUSTED.</param>
/// <param name="MinRequestDataRate">Bytes per second a buffered request message must keep arriving at, per call; 0: none.</param>
/// <param name="MinRequestDataRateGracePeriod">The period over which that rate is checked, and the longest a unary body
/// may go without progress.</param>
/// <param name="ReceiveBlockSize">Bytes of each block the server's socket reads and HTTP/2 pipes use (<c>receive-block-size</c>).</param>
public sealed record GrpcOptions(long MaxReceiveMessageSize, long MaxSendMessageSize, int MaxConcurrentStreams, TimeSpan DefaultDeadline,
    int MaxConnectionsPerAddress, long RequestBufferBudget, TimeSpan RequestBufferWait, long MinRequestDataRate, TimeSpan MinRequestDataRateGracePeriod,
    long ReceiveBlockSize)
{

    internal const string Path = "memo.grpc";

    internal static GrpcOptions Read(OptionsReader r) => new(
        r.Bytes($"{Path}.max-receive-message-size"),
        r.Bytes($"{Path}.max-send-message-size"),
        r.Int32($"{Path}.max-concurrent-streams"),
        r.Duration($"{Path}.default-deadline"),
        r.Int32($"{Path}.max-connections-per-address"),
        r.Bytes($"{Path}.request-buffer-budget"),
        r.Duration($"{Path}.request-buffer-wait"),
        r.Bytes($"{Path}.min-request-data-rate"),
        r.Duration($"{Path}.min-request-data-rate-grace-period"),
        r.Bytes($"{Path}.receive-block-size"));

    internal void Validate(OptionsValidator v)
    {
        // gRPC implementations take message limits as a 32-bit int.
        v.SizeRange($"{Path}.max-receive-message-size", MaxReceiveMessageSize, 1024, int.MaxValue);
        v.SizeRange($"{Path}.max-send-message-size", MaxSendMessageSize, 1024, int.MaxValue);
        v.Range($"{Path}.max-concurrent-streams", MaxConcurrentStreams, 1, 65536);
        v.DurationRange($"{Path}.default-deadline", DefaultDeadline, TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));
        v.Range($"{Path}.max-connections-per-address", MaxConnectionsPerAddress, 1, 1_000_000);
        // The largest message the node accepts must fit, with its 5-byte prefix, or it could never be read.
        v.SizeRange($"{Path}.request-buffer-budget", RequestBufferBudget, Math.Max(1024, MaxReceiveMessageSize) + 5, 1L << 40);
        v.DurationRange($"{Path}.request-buffer-wait", RequestBufferWait, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        v.SizeRange($"{Path}.min-request-data-rate", MinRequestDataRate, 0, 1L << 30);
        // Kestrel's bound: more than its 1 s heartbeat.
        v.DurationRange($"{Path}.min-request-data-rate-grace-period", MinRequestDataRateGracePeriod, TimeSpan.FromSeconds(2), TimeSpan.FromHours(1));
        v.SizeRange($"{Path}.receive-block-size", ReceiveBlockSize, Api.Hosting.ReceiveBlockPool.MinBlockSize, Api.Hosting.ReceiveBlockPool.MaxBlockSize);
    }
}
