using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

public sealed class MemberTests
{
    [Theory]
    [InlineData("10.0.0.1:5090", true)]
    [InlineData("node-7.example.org:1", true)]
    [InlineData("[::1]:65535", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData(":5090", false)]
    [InlineData("host:", false)]
    [InlineData("host:0", false)]
    [InlineData("host:65536", false)]
    [InlineData("host:+80", false)]
    [InlineData("ho st:80", false)]
    [InlineData("", false)]
    public void Addresses_must_be_host_and_port(string address, bool valid) => Assert.Equal(valid, Member.IsValidAddress(address));

    [Fact]
    public void A_joining_record_sorts_its_tokens_and_starts_without_an_up_number()
    {
        var member = Member.Joining(Id(1), "a:1", [30UL, 10UL, 20UL], ["dc1"]);
        Assert.Equal([10UL, 20UL, 30UL], member.Tokens.ToArray());
        Assert.Equal(MemberStatus.Joining, member.Status);
        Assert.Equal(0, member.UpNumber);
        Assert.True(member.HasRole("dc1"));
    }

    [Fact]
    public void Invalid_records_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Member.Joining(NodeId.None, "a:1", [1UL]));
        Assert.Throws<ArgumentException>(() => Member.Joining(Id(1), "a", [1UL]));
        Assert.Throws<ArgumentException>(() => Member.Joining(Id(1), "a:1", [1UL, 1UL]));
        Assert.Throws<ArgumentException>(() => Member.Joining(Id(1), "a:1", Enumerable.Range(0, MembershipLimits.MaxTokensPerMember + 1).Select(i => (ulong)i)));
        Assert.Throws<ArgumentException>(() => Member.Joining(Id(1), "a:1", [1UL], [""]));
        Assert.Throws<ArgumentException>(() => Member.Joining(Id(1), "a:1", [1UL], [new string('r', MembershipLimits.MaxRoleLength + 1)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Member.Create(Id(1), "a:1", (MemberStatus)9, 0, [1UL], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => Member.Create(Id(1), "a:1", MemberStatus.Up, -1, [1UL], []));
    }

    [Fact]
    public void Records_compare_by_value()
    {
        Assert.Equal(Member.Joining(Id(1), "a:1", [2UL, 1UL], ["x"]), Member.Joining(Id(1), "a:1", [1UL, 2UL], ["x"]));
        Assert.NotEqual(Member.Joining(Id(1), "a:1", [1UL]), Member.Joining(Id(1), "a:1", [2UL]));
        Assert.NotEqual(Member.Joining(Id(1), "a:1", [1UL]), Member.Create(Id(1), "a:1", MemberStatus.Up, 1, [1UL], []));
    }
}
