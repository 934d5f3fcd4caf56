using Grpc.Core;
using Memo.Protocol.Cluster;

namespace Memo.Protocol.Tests.Client;

/// <summary>memo.cluster.ClusterAdmin with one member, <c>n1</c>.</summary>
internal sealed class FakeClusterAdmin : ClusterAdmin.ClusterAdminBase
{
    public override Task<DownResponse> Down(DownRequest request, ServerCallContext context) =>
        request.Node == "n1"
            ? throw new RpcException(new Status(StatusCode.FailedPrecondition, "A member cannot down itself."))
            : throw new RpcException(new Status(StatusCode.NotFound, $"No member '{request.Node}'."));

    public override Task<ShowResponse> Show(ShowRequest request, ServerCallContext context) =>
        Task.FromResult(new ShowResponse { Members = { new MemberInfo { Id = "n1" } } });
}
