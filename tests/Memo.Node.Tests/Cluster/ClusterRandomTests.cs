using Memo.Node.Cluster;

namespace Memo.Node.Tests.Cluster;

public sealed class ClusterRandomTests
{
    [Fact]
    public void Equal_seeds_give_equal_sequences()
    {
        var a = new DeterministicRandom(12345);
        var b = new DeterministicRandom(12345);
        Assert.Equal(Enumerable.Range(0, 100).Select(_ => a.NextUInt64()), Enumerable.Range(0, 100).Select(_ => b.NextUInt64()));
        Assert.NotEqual(new DeterministicRandom(1).NextUInt64(), new DeterministicRandom(2).NextUInt64());
    }

    [Fact]
    public void Bounded_draws_stay_in_range_and_cover_it()
    {
        var random = new DeterministicRandom(3);
        var counts = new int[7];
        for (var i = 0; i < 7000; i++)
        {
            counts[random.Next(7)]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
        for (var i = 0; i < 1000; i++)
        {
            Assert.InRange(random.NextDouble(), 0.0, 0.9999999999999999);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => random.Next(0));
    }

    [Fact]
    public void Ring_tokens_are_distinct_sorted_and_seeded()
    {
        var tokens = RingTokens.Draw(new DeterministicRandom(8), 16);
        Assert.Equal(16, tokens.Distinct().Count());
        Assert.Equal(tokens.Order().ToArray(), tokens.ToArray());
        Assert.Equal(tokens.ToArray(), RingTokens.Draw(new DeterministicRandom(8), 16).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => RingTokens.Draw(new DeterministicRandom(8), 0));
    }
}
