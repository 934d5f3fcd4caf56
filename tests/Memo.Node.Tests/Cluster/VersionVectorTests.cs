using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

public sealed class VersionVectorTests
{
    private static VersionVector V(params (int Node, ulong Counter)[] counters) =>
        VersionVector.From(counters.Select(c => new KeyValuePair<NodeId, ulong>(Id(c.Node), c.Counter)));

    [Fact]
    public void Compare_tells_same_older_newer_and_concurrent()
    {
        Assert.Equal(VersionOrder.Same, V((1, 2)).Compare(V((1, 2))));
        Assert.Equal(VersionOrder.Same, VersionVector.Empty.Compare(V((1, 0))));
        Assert.Equal(VersionOrder.Older, V((1, 1)).Compare(V((1, 2))));
        Assert.Equal(VersionOrder.Older, VersionVector.Empty.Compare(V((3, 1))));
        Assert.Equal(VersionOrder.Newer, V((1, 2), (2, 1)).Compare(V((1, 2))));
        Assert.Equal(VersionOrder.Concurrent, V((1, 2)).Compare(V((2, 1))));
        Assert.Equal(VersionOrder.Concurrent, V((1, 2), (2, 1)).Compare(V((1, 1), (2, 2))));
    }

    [Fact]
    public void Merge_takes_the_pointwise_maximum()
    {
        var merged = V((1, 3), (2, 1)).Merge(V((2, 4), (3, 1)));
        Assert.Equal(V((1, 3), (2, 4), (3, 1)), merged);
        Assert.Equal("{0000000000000001:3, 0000000000000002:4, 0000000000000003:1}", merged.ToString());
    }

    [Fact]
    public void Increment_counts_one_node_and_refuses_none()
    {
        var v = VersionVector.Empty.Increment(Id(5)).Increment(Id(5));
        Assert.Equal(2UL, v[Id(5)]);
        Assert.Equal(0UL, v[Id(6)]);
        Assert.Throws<ArgumentException>(() => v.Increment(NodeId.None));
        Assert.Throws<ArgumentException>(() => VersionVector.From([new(NodeId.None, 1)]));
    }

    [Fact]
    public void Equal_vectors_have_equal_hash_codes_whatever_their_zero_entries()
    {
        Assert.Equal(V((1, 1), (2, 0)), V((1, 1)));
        Assert.Equal(V((1, 1), (2, 0)).GetHashCode(), V((1, 1)).GetHashCode());
        Assert.NotEqual(V((1, 1)), V((1, 2)));
    }
}
