using System.Globalization;
using Memo.Node.Configuration;

namespace Memo.Node.Cluster;

/// <summary>Settings of the membership, gossip and placement cores (proposed keys <c>memo.cluster</c>). The
/// replication factor and the eviction delay are network policies: <see cref="NetworkOptions"/>.</summary>
/// <param name="VirtualNodesPerMember">Ring tokens a node draws when it joins (16 keeps the load within about 2x of the
/// fair share at 64 shards; more smooths it further at the cost of gossip size).</param>
/// <param name="MaxMembers">Most live members a cluster admits (<see cref="JoinCheck.ClusterFull"/> beyond).</param>
/// <param name="GossipPreferUnseenProbability">Chance that a gossip round picks among members that have not seen the
/// latest version rather than among all (Akka's gossip-different-view-probability).</param>
/// <param name="FailureDetector">Phi-accrual failure detector.</param>
public sealed record ClusterOptions(
    int VirtualNodesPerMember,
    int MaxMembers,
    double GossipPreferUnseenProbability,
    FailureDetectorOptions FailureDetector)
{
    internal const string Path = "memo.cluster";

    /// <summary>Every rule the values break; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var v = new OptionsValidator();
        Validate(v);
        return v.Problems;
    }

    internal void Validate(OptionsValidator v)
    {
        v.Range($"{Path}.virtual-nodes-per-member", VirtualNodesPerMember, 1, MembershipLimits.MaxTokensPerMember);
        v.Range($"{Path}.max-members", MaxMembers, 1, MembershipLimits.MaxMemberRecords);
        v.Require(GossipPreferUnseenProbability is >= 0 and <= 1, $"{Path}.gossip-prefer-unseen-probability",
            GossipPreferUnseenProbability.ToString(CultureInfo.InvariantCulture), "must be between 0 and 1");
        FailureDetector.Validate(v);
    }
}
