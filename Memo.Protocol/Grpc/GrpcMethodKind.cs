namespace Memo.Protocol.Grpc;

/// <summary>How many messages flow in each direction of a call.</summary>
public enum GrpcMethodKind
{
    /// <summary>One request message, one response message.</summary>
    Unary = 0,

    /// <summary>A stream of request messages, one response message.</summary>
    ClientStreaming = 1,

    /// <summary>One request message, a stream of response messages.</summary>
    ServerStreaming = 2,

    /// <summary>Independent streams of request and response messages in both directions.</summary>
    DuplexStreaming = 3,
}
