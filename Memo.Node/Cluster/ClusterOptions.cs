using Memo.Node.Configuration;

namespace Memo.Node.Cluster;

/// <summary>The <c>memo.cluster</c> section: what memo adds to Akka.Cluster's membership. Akka's own settings (failure
/// detector, gossip interval, seed-node timeouts) are set in the <c>akka.cluster</c> section.</summary>
/// <param name="VirtualNodesPerMember">Ring tokens a node draws at its first start (16 keeps the load within about 2x
/// of the fair share at 64 shards; more smooths it further at the cost of larger member roles).</param>
public sealed record ClusterOptions(int VirtualNodesPerMember)
{
    internal const string Path = "memo.cluster";

    /// <summary>Every rule the values break; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var v = new OptionsValidator();
        Validate(v);
        return v.Problems;
    }

    internal static ClusterOptions Read(OptionsReader r) => new(r.Int32($"{Path}.virtual-nodes-per-member"));

    internal void Validate(OptionsValidator v) =>
        v.Range($"{Path}.virtual-nodes-per-member", VirtualNodesPerMember, 1, MembershipLimits.MaxTokensPerMember);
}
