using Memo.Protocol.Client;
using Memo.Protocol.Cluster;

namespace Memo.Node.Cluster.Runtime;

/// <summary>The join call over gRPC: a short-lived channel per attempt (joins are rare; a cached channel to a seed
/// that may never answer would only hold a socket).</summary>
public sealed class GrpcClusterJoinChannel(TimeSpan callTimeout) : IClusterJoinChannel
{
    /// <inheritdoc />
    public async Task<AdmitMemberResponse> AdmitAsync(string seedAddress, AdmitMemberRequest request, CancellationToken cancellationToken)
    {
        using var channel = MemoChannel.Create(seedAddress);
        var client = new ClusterAdmin.ClusterAdminClient(channel);
        return await client.AdmitMemberAsync(request, deadline: DateTime.UtcNow + callTimeout, cancellationToken: cancellationToken)
            .ResponseAsync.ConfigureAwait(false);
    }
}
