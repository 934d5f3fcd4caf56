using Memo.Protocol.Cluster;

namespace Memo.Node.Cluster.Runtime;

/// <summary>How a joining node reaches a seed: one unary <c>memo.cluster.ClusterAdmin/AdmitMember</c> call. A seam so
/// tests can run the runtime without sockets.</summary>
public interface IClusterJoinChannel
{
    /// <summary>Asks the node at <paramref name="seedAddress"/> to admit this node. Throws
    /// <see cref="Grpc.Core.RpcException"/> with the seed's status on refusal or when unreachable.</summary>
    Task<AdmitMemberResponse> AdmitAsync(string seedAddress, AdmitMemberRequest request, CancellationToken cancellationToken);
}
