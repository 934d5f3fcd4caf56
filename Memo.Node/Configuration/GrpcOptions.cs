namespace Memo.Node.Configuration;

/// <summary>Limits of the gRPC server that clients and peers talk to (<c>memo.grpc</c>).</summary>
/// <param name="MaxReceiveMessageSize">Largest request message accepted, in bytes.</param>
/// <param name="MaxSendMessageSize">Largest response message sent, in bytes.</param>
/// <param name="MaxConcurrentStreams">HTTP/2 streams one connection may have open at once.</param>
/// <param name="DefaultDeadline">Time limit of a unary call whose client sent no deadline.</param>
public sealed record GrpcOptions(long MaxReceiveMessageSize, long MaxSendMessageSize, int MaxConcurrentStreams, TimeSpan DefaultDeadline)
{
    internal const string Path = "memo.grpc";

    internal static GrpcOptions Read(OptionsReader r) => new(
        r.Bytes($"{Path}.max-receive-message-size"),
        r.Bytes($"{Path}.max-send-message-size"),
        r.Int32($"{Path}.max-concurrent-streams"),
        r.Duration($"{Path}.default-deadline"));

    internal void Validate(OptionsValidator v)
    {
        // gRPC implementations take message limits as a 32-bit int.
        v.SizeRange($"{Path}.max-receive-message-size", MaxReceiveMessageSize, 1024, int.MaxValue);
        v.SizeRange($"{Path}.max-send-message-size", MaxSendMessageSize, 1024, int.MaxValue);
        v.Range($"{Path}.max-concurrent-streams", MaxConcurrentStreams, 1, 65536);
        v.DurationRange($"{Path}.default-deadline", DefaultDeadline, TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));
    }
}
