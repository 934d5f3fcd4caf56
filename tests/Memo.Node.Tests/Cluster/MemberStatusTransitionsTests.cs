using Memo.Node.Cluster;

namespace Memo.Node.Tests.Cluster;

public sealed class MemberStatusTransitionsTests
{
    private static readonly (MemberStatus From, MemberStatus To)[] Legal =
    [
        (MemberStatus.Joining, MemberStatus.Up),
        (MemberStatus.Joining, MemberStatus.Leaving),
        (MemberStatus.Joining, MemberStatus.Down),
        (MemberStatus.Up, MemberStatus.Leaving),
        (MemberStatus.Up, MemberStatus.Down),
        (MemberStatus.Leaving, MemberStatus.Exiting),
        (MemberStatus.Leaving, MemberStatus.Down),
        (MemberStatus.Exiting, MemberStatus.Removed),
        (MemberStatus.Exiting, MemberStatus.Down),
        (MemberStatus.Down, MemberStatus.Removed),
    ];

    [Fact]
    public void The_transition_table_allows_exactly_the_lifecycle_arrows()
    {
        foreach (var from in Enum.GetValues<MemberStatus>())
        {
            foreach (var to in Enum.GetValues<MemberStatus>())
            {
                Assert.True(Legal.Contains((from, to)) == MemberStatusTransitions.IsAllowed(from, to), $"{from} -> {to}");
            }
        }
    }

    [Fact]
    public void Every_legal_transition_climbs_the_merge_precedence()
    {
        // Merge resolves concurrent updates by the highest status; that is only sound if no arrow goes down.
        Assert.All(Legal, t => Assert.True(t.To > t.From, $"{t.From} -> {t.To}"));
    }

    [Fact]
    public void Status_values_are_fixed_because_gossip_carries_them()
    {
        Assert.Equal(
            [0, 1, 2, 3, 4, 5],
            new[] { MemberStatus.Joining, MemberStatus.Up, MemberStatus.Leaving, MemberStatus.Exiting, MemberStatus.Down, MemberStatus.Removed }.Select(s => (int)s));
    }

    [Theory]
    [InlineData(MemberStatus.Removed, MemberStatus.Up)]
    [InlineData(MemberStatus.Down, MemberStatus.Up)]
    [InlineData(MemberStatus.Up, MemberStatus.Joining)]
    [InlineData(MemberStatus.Leaving, MemberStatus.Up)]
    [InlineData(MemberStatus.Joining, MemberStatus.Exiting)]
    [InlineData(MemberStatus.Up, MemberStatus.Removed)]
    public void An_illegal_transition_throws(MemberStatus from, MemberStatus to)
    {
        var e = Assert.Throws<InvalidOperationException>(() => MemberStatusTransitions.EnsureAllowed(ClusterFixtures.Id(7), from, to));
        Assert.Contains($"from {from} to {to}", e.Message);
    }

    [Fact]
    public void Only_Down_and_Removed_are_not_live_and_only_Up_and_Leaving_are_full_members()
    {
        Assert.Equal(
            [MemberStatus.Joining, MemberStatus.Up, MemberStatus.Leaving, MemberStatus.Exiting],
            Enum.GetValues<MemberStatus>().Where(s => s.IsLive()));
        Assert.Equal([MemberStatus.Up, MemberStatus.Leaving], Enum.GetValues<MemberStatus>().Where(s => s.IsFullMember()));
        Assert.False(MemberStatusTransitions.IsDefined((MemberStatus)6));
    }
}
