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
    public void Every_broken_rule_is_reported_with_its_key()
    {
        var problems = (Options() with { VirtualNodesPerMember = 0 }).Validate();
        Assert.StartsWith("memo.cluster.virtual-nodes-per-member = 0", Assert.Single(problems), StringComparison.Ordinal);
        Assert.NotEmpty((Options() with { VirtualNodesPerMember = 1025 }).Validate());
    }
}
