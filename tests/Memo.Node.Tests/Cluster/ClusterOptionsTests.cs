using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

public sealed class ClusterOptionsTests
{
    [Fact]
    public void Usable_options_have_no_problems()
    {
        Assert.Empty(Options().Validate());
    }

    [Fact]
    public void Every_broken_rule_is_reported_at_once_with_its_key()
    {
        var options = Options() with
        {
            VirtualNodesPerMember = 0,
            MaxMembers = 0,
            GossipPreferUnseenProbability = 1.5,
            FailureDetector = Detector(threshold: -1) with { HeartbeatInterval = TimeSpan.Zero },
        };
        var problems = options.Validate();
        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("memo.cluster.virtual-nodes-per-member = 0", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("memo.cluster.max-members = 0", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("memo.cluster.gossip-prefer-unseen-probability = 1.5", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("memo.cluster.failure-detector.threshold = -1", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("memo.cluster.failure-detector.heartbeat-interval", StringComparison.Ordinal));
    }
}
