namespace Memo.Protocol.Grpc;

/// <summary>The 5-byte prefix of a gRPC message: compressed flag and payload length.</summary>
/// <param name="CompressedFlag">0 (uncompressed) or 1 (compressed with the call's grpc-encoding); other values are invalid.</param>
/// <param name="Length">Length of the message that follows, in bytes.</param>
public readonly record struct GrpcFramePrefix(byte CompressedFlag, uint Length)
{
    /// <summary>True when the message is compressed.</summary>
    public bool IsCompressed => CompressedFlag == 1;
}
