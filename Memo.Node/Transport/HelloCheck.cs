using Grpc.Core;

namespace Memo.Node.Transport;

/// <summary>The verdict on a hello: OK with the peer's identity, or the status and reason to refuse the link.</summary>
internal readonly record struct HelloCheck(StatusCode Status, string? Error, NodeId Node, string Address)
{
    public bool Accepted => Status == StatusCode.OK;

    public static HelloCheck Refuse(StatusCode status, string error) => new(status, error, NodeId.None, string.Empty);
}
