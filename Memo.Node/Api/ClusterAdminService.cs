using Grpc.Core;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Shards.Hosting;
using Memo.Protocol.Cluster;
using MemberStatus = Memo.Node.Cluster.MemberStatus;
using WireStatus = Memo.Protocol.Cluster.MemberStatus;

namespace Memo.Node.Api;

/// <summary>
/// The <c>memo.cluster.ClusterAdmin</c> gRPC service: reads the published <see cref="ClusterView"/> (Show, Shards) and
/// forwards changes to the <see cref="ClusterMembership"/> (Join, Leave, Down). Holds no state. Outcomes
/// map to statuses (Shards also carries each shard's leader and applied index from the shard host's reports): unknown member NOT_FOUND, refused change FAILED_PRECONDITION, not a member yet UNAVAILABLE.
/// </summary>
public sealed class ClusterAdminService(ClusterMembership cluster, ShardHost? shards = null) : ClusterAdmin.ClusterAdminBase
{
    /// <inheritdoc />
    public override Task<ShowResponse> Show(ShowRequest request, ServerCallContext context) => Task.FromResult(Show(cluster.View));

    /// <inheritdoc />
    public override Task<ShardsResponse> Shards(ShardsRequest request, ServerCallContext context) =>
        Task.FromResult(Shards(cluster.View, shards is null ? null : shards.LeaderReport));

    /// <inheritdoc />
    public override async Task<JoinResponse> Join(JoinRequest request, ServerCallContext context)
    {
        if (!Cluster.Member.IsValidAddress(request.Seed))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"'{request.Seed}' is not a host:port address (a member's remoting endpoint)"));
        }
        Check(await cluster.JoinAsync(request.Seed, context.CancellationToken).ConfigureAwait(false));
        return new JoinResponse();
    }

    /// <inheritdoc />
    public override async Task<LeaveResponse> Leave(LeaveRequest request, ServerCallContext context)
    {
        var result = Check(await cluster.LeaveAsync(request.Node, context.CancellationToken).ConfigureAwait(false));
        return new LeaveResponse { Id = result.Node.ToString() };
    }

    /// <inheritdoc />
    public override async Task<DownResponse> Down(DownRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Node))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "down needs a member id or address"));
        }
        var result = Check(await cluster.DownAsync(request.Node, context.CancellationToken).ConfigureAwait(false));
        return new DownResponse { Id = result.Node.ToString() };
    }

    /// <summary>The Show answer for a view.</summary>
    public static ShowResponse Show(ClusterView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var state = view.Membership;
        var response = new ShowResponse
        {
            SelfId = view.Self.ToString(),
            SelfAddress = view.SelfAddress,
            LeaderId = view.Leader.IsNone ? "" : view.Leader.ToString(),
            Converged = view.IsMember && view.IsConverged,
            Serving = view.IsServing,
            Problem = view.Problem ?? "",
            ShardCount = view.Network.ShardCount,
            ReplicationFactor = view.Network.ReplicationFactor,
            NetworkName = view.Network.Name,
            EvictionDelayMs = (long)view.Network.EvictionDelay.TotalMilliseconds,
            ViewVersion = (ulong)view.Version,
        };
        foreach (var member in state.Members.Values)
        {
            var info = new MemberInfo
            {
                Id = member.Id.ToString(),
                Address = member.Address,
                Status = (WireStatus)(int)member.Status,
                Reachable = member.Status == MemberStatus.Removed || state.IsReachable(member.Id),
                UpNumber = member.UpNumber,
            };
            info.Roles.AddRange(member.Roles);
            response.Members.Add(info);
        }
        return response;
    }

    /// <summary>The Shards answer for a view.</summary>
    public static ShardsResponse Shards(ClusterView view, Func<ShardId, ReplicaReport?>? leaderOf = null)
    {
        ArgumentNullException.ThrowIfNull(view);
        var placement = view.Placement;
        var response = new ShardsResponse
        {
            ShardCount = placement.ShardCount,
            ReplicationFactor = placement.RequestedReplicationFactor,
            EffectiveReplicationFactor = placement.ReplicationFactor,
        };
        for (var shard = 0; shard < placement.ShardCount; shard++)
        {
            var replicas = placement[new ShardId(shard)];
            var info = new ShardInfo
            {
                Shard = shard,
                UnderReplicated = replicas.Count < placement.RequestedReplicationFactor,
            };
            info.Replicas.AddRange(replicas.Nodes.Select(n => n.ToString()));
            if (leaderOf?.Invoke(new ShardId(shard)) is { } leader)
            {
                info.LeaderId = leader.Node.ToString();
                info.AppliedIndex = leader.Applied.Value;
            }
            response.Shards.Add(info);
        }
        return response;
    }

    private static ClusterCommandResult Check(ClusterCommandResult result) => result.Status switch
    {
        ClusterCommandStatus.Done => result,
        ClusterCommandStatus.UnknownMember => throw new RpcException(new Status(StatusCode.NotFound, result.Message ?? "unknown member")),
        ClusterCommandStatus.NotMember => throw new RpcException(new Status(StatusCode.Unavailable, result.Message ?? "not a member")),
        _ => throw new RpcException(new Status(StatusCode.FailedPrecondition, result.Message ?? "refused")),
    };
}
