using Memo.Protocol.Grpc;

namespace Memo.Node.Transport;

/// <summary>The verdict on a hello: OK with the peer's identity, or the status and reason to refuse the link.</summary>
internal readonly record struct HelloCheck(GrpcStatusCode Status, string? Error, NodeId Node, string Address)
{
    public bool Accepted => Status == GrpcStatusCode.OK;

    public static HelloCheck Refuse(GrpcStatusCode status, string error) => new(status, error, NodeId.None, string.Empty);
}
