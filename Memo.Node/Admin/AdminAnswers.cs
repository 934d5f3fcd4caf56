using Memo.Admin.Wire;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Shards.Hosting;
using MemberStatus = Memo.Node.Cluster.MemberStatus;
using WireStatus = Memo.Admin.Wire.MemberStatus;

namespace Memo.Node.Admin;

/// <summary>
/// The admin answers built from a published <see cref="ClusterView"/> (pure: no I/O, no state): Show lists the members
/// as this node sees them, Shards the ring placement of every shard with the leader and applied index the shard host's
/// reports give. Also the mapping of a membership change's outcome to an admin error.
/// </summary>
public static class AdminAnswers
{
    /// <summary>This node's version, as <c>memo doctor</c> and the dashboard show it.</summary>
    public static string NodeVersion { get; } =
        System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(typeof(AdminAnswers).Assembly)?.InformationalVersion
        ?? typeof(AdminAnswers).Assembly.GetName().Version?.ToString() ?? "unknown";

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
            NodeVersion = NodeVersion,
            Policies = new NetworkPolicies
            {
                // ValueCompression's values (0 off, 1 zstd, 2 brotli) are one below the wire enum's.
                Compression = (Compression)((int)view.Network.DataPolicies.Compression + 1),
                EncryptAtRest = view.Network.DataPolicies.EncryptAtRest,
                Versions = (uint)view.Network.Versions,
                ErasureDataFragments = (uint)view.Network.ErasureCoding.DataFragments,
                ErasureParityFragments = (uint)view.Network.ErasureCoding.ParityFragments,
                ErasureThreshold = view.Network.ErasureCoding.IsOn ? (uint)view.Network.ErasureCoding.Threshold : 0,
            },
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

    /// <summary>The Shards answer for a view; <paramref name="leaderOf"/> gives a shard's best leader report, if any, and
    /// <paramref name="localReplicas"/> the replicas this node hosts.</summary>
    public static ShardsResponse Shards(ClusterView view, Func<ShardId, ReplicaReport?>? leaderOf = null, IEnumerable<ReplicaReport>? localReplicas = null)
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
                if (leader.Usage is { } usage)
                {
                    info.Keys = (ulong)usage.Entries;
                    info.Bytes = (ulong)usage.TotalBytes;
                }
            }
            response.Shards.Add(info);
        }
        foreach (var report in localReplicas ?? [])
        {
            var local = new LocalReplicaInfo
            {
                Shard = report.Shard.Value,
                IsLeader = report.IsLeader,
                LeaderId = report.Leader.IsNone ? "" : report.Leader.ToString(),
                AppliedIndex = report.Applied.Value,
            };
            if (report.Usage is { } usage)
            {
                local.Keys = (ulong)usage.Entries;
                local.Bytes = (ulong)usage.TotalBytes;
            }
            local.Voters.AddRange(report.Membership.Voters.Select(v => v.ToString()));
            local.Learners.AddRange(report.Membership.Learners.Select(l => l.ToString()));
            response.LocalReplicas.Add(local);
        }
        return response;
    }

    /// <summary>The error a membership change's outcome is answered with; null when it was done. Same codes as the gRPC
    /// admin service used: unknown member NOT_FOUND, this node not a live member UNAVAILABLE, refused FAILED_PRECONDITION.</summary>
    public static AdminError? ErrorOf(ClusterCommandResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Status switch
        {
            ClusterCommandStatus.Done => null,
            ClusterCommandStatus.UnknownMember => new AdminError { Code = AdminErrorCode.NotFound, Message = result.Message ?? "unknown member" },
            ClusterCommandStatus.NotMember => new AdminError { Code = AdminErrorCode.Unavailable, Message = result.Message ?? "not a member" },
            _ => new AdminError { Code = AdminErrorCode.FailedPrecondition, Message = result.Message ?? "refused" },
        };
    }
}
