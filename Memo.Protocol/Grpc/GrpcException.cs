namespace Memo.Protocol.Grpc;

/// <summary>
/// A call made through <c>MemoClient</c> ended with a non-OK status: the client throws it
/// for every non-OK status Grpc.Net.Client reports (as <c>RpcException</c>, kept as the inner exception) or that the
/// client derives itself (a forged block is DATA_LOSS). It stays so code written against earlier versions of
/// <c>MemoClient</c> keeps compiling; the node itself answers with <c>Grpc.Core.RpcException</c>.
/// </summary>
public sealed class GrpcException : Exception
{
    /// <summary>A call ended with <paramref name="status"/>; <paramref name="message"/> travels as <c>grpc-message</c>.</summary>
    public GrpcException(GrpcStatusCode status, string message)
        : this(status, message, trailers: null, innerException: null)
    {
    }

    /// <summary>A call ended with <paramref name="status"/>, carrying extra trailing metadata and the local cause, if any.</summary>
    public GrpcException(
        GrpcStatusCode status,
        string message,
        IReadOnlyList<KeyValuePair<string, string>>? trailers,
        Exception? innerException = null)
        : base(message, innerException)
    {
        if (status == GrpcStatusCode.OK)
        {
            throw new ArgumentException("A GrpcException cannot carry status OK.", nameof(status));
        }
        Status = status;
        Trailers = trailers;
    }

    /// <summary>The gRPC status of the failed call.</summary>
    public GrpcStatusCode Status { get; }

    /// <summary>
    /// Custom trailing metadata (lower-case names; binary <c>-bin</c> values base64-encoded), excluding
    /// <c>grpc-status</c> and <c>grpc-message</c>; null when there is none.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Trailers { get; }

    /// <inheritdoc />
    public override string ToString() => $"status {Status}: {base.ToString()}";
}
