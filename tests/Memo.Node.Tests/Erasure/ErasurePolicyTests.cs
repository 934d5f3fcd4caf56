using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Configuration;
using Memo.Node.Erasure;
using Memo.Node.Storage;
using Memo.Testing;

namespace Memo.Node.Tests.Erasure;

/// <summary>
/// <c>memo.network.erasure</c> and <c>erasure-threshold</c> as network parameters: read and validated, carried in the
/// member roles, recorded in the data folder, and a node made with another setting refused at join.
/// </summary>
public sealed class ErasurePolicyTests
{
    private static readonly RaftTiming Timing = new(TimeSpan.FromMilliseconds(100), 10, LeaseReads: true);

    private static NetworkParameters Network(ErasureCoding? erasure) => new("memo", 4, 3, TimeSpan.FromSeconds(30), Timing, Erasure: erasure);

    private static MemberIdentity Identity(ulong node, ErasureCoding? erasure) =>
        MemberIdentity.Of(new NodeId(node), $"127.0.0.1:{5000 + node}", [node * 1000], Network(erasure));

    private static string NetworkRole(MemberIdentity identity) => identity.ToRoles().Single(r => r.StartsWith("memo-net:", StringComparison.Ordinal));

    [Fact]
    public void The_options_default_to_off_and_64_KiB_and_read_K_plus_M()
    {
        var defaults = MemoOptions.Load(null, []).Network;
        Assert.False(defaults.ErasureCoding.IsOn);
        Assert.Equal(64 * 1024, defaults.ErasureCoding.Threshold);
        var set = MemoOptions.Load(null, ["memo.network.erasure = \"4+2\"", "memo.network.erasure-threshold = 128KiB"]).Network.ErasureCoding;
        Assert.Equal(new ErasureCoding(4, 2, 128 * 1024), set);
        Assert.Equal("4+2", set.Scheme);
        Assert.True(set.Applies(128 * 1024 + 1));
        Assert.False(set.Applies(128 * 1024));
    }

    [Theory]
    [InlineData("0+2")]
    [InlineData("4+0")]
    [InlineData("12+5")]
    [InlineData("4-2")]
    [InlineData("four+two")]
    [InlineData("on")]
    public void A_bad_scheme_is_refused_naming_the_key_and_the_rule(string scheme)
    {
        var problems = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, [$"memo.network.erasure = \"{scheme}\""])).Problems;
        var problem = Assert.Single(problems);
        Assert.StartsWith($"memo.network.erasure = \"{scheme}\": ", problem, StringComparison.Ordinal);
        Assert.Contains("K+M", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_threshold_outside_1_KiB_to_64_MiB_is_refused()
    {
        var problems = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, ["memo.network.erasure-threshold = 100B"])).Problems;
        Assert.StartsWith("memo.network.erasure-threshold = ", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Off_leaves_the_roles_as_before_and_K_plus_M_travels_and_reads_back_equal()
    {
        Assert.Equal("memo-net:4/3/30000/100000/10/1/0/0", NetworkRole(Identity(7, null)));
        var coded = Identity(7, new ErasureCoding(4, 2, 65536));
        Assert.Equal("memo-net:4/3/30000/100000/10/1/0/0/1/4+2/65536", NetworkRole(coded));
        Assert.True(MemberIdentity.TryParse(coded.ToRoles(), out var parsed, out var problem), problem);
        Assert.Equal(new ErasureCoding(4, 2, 65536), parsed!.Erasure);
        Assert.True(parsed.SameNetworkAs(coded));
    }

    [Theory]
    [InlineData("memo-net:4/3/30000/100000/10/1/0/0/1/4+2")]
    [InlineData("memo-net:4/3/30000/100000/10/1/0/0/1/0+2/65536")]
    [InlineData("memo-net:4/3/30000/100000/10/1/0/0/1/off/65536")]
    [InlineData("memo-net:4/3/30000/100000/10/1/0/0/1/4+2/0")]
    public void Damaged_erasure_parts_in_the_roles_are_refused(string role)
    {
        var roles = Identity(2, null).ToRoles().Select(r => r.StartsWith("memo-net:", StringComparison.Ordinal) ? role : r);
        Assert.False(MemberIdentity.TryParse(roles, out _, out var problem));
        Assert.Contains("bad network parameters", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_member_coding_otherwise_is_foreign_and_the_reason_names_both()
    {
        var self = Identity(1, new ErasureCoding(4, 2, 65536));
        foreach (var other in new[] { Identity(2, null), Identity(2, new ErasureCoding(3, 3, 65536)), Identity(2, new ErasureCoding(4, 2, 4096)) })
        {
            Assert.False(self.SameNetworkAs(other));
            var mapped = AkkaMemberMapping.Map(self,
            [
                new ObservedMember("127.0.0.1:6001", MemberStatus.Up, 1, self.ToRoles(), Reachable: true, IsLeader: true),
                new ObservedMember("127.0.0.1:6002", MemberStatus.Up, 2, other.ToRoles(), Reachable: true, IsLeader: false),
            ], new Dictionary<NodeId, Member>());
            Assert.Equal([self.Node], mapped.RingMembers.Select(m => m.Id));
            var reason = Assert.Single(mapped.Foreign).Value;
            Assert.Contains("erasure 4+2 above 65536 bytes", reason, StringComparison.Ordinal);
            Assert.Contains(other.Erasure.IsOn ? other.Erasure.ToString() : "erasure off", reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_data_folder_keeps_the_coding_it_was_created_with()
    {
        var silo = new MemorySilo();
        var first = await SiloClusterStore.OpenAsync(silo, Network(new ErasureCoding(4, 2, 65536)), 4, CancellationToken.None);
        var reopened = await SiloClusterStore.OpenAsync(silo, Network(null), 4, CancellationToken.None);
        Assert.Equal(new ErasureCoding(4, 2, 65536), first.Network.ErasureCoding);
        Assert.Equal(new ErasureCoding(4, 2, 65536), reopened.Network.ErasureCoding);

        var plain = new MemorySilo();
        await SiloClusterStore.OpenAsync(plain, Network(null), 4, CancellationToken.None);
        Assert.False((await SiloClusterStore.OpenAsync(plain, Network(new ErasureCoding(4, 2, 65536)), 4, CancellationToken.None)).Network.ErasureCoding.IsOn);
    }

    [Fact]
    public async Task A_node_configured_with_another_coding_is_refused_at_join_with_a_clear_problem()
    {
        await using var cluster = await InProcessCluster.StartAsync(1);
        await cluster.WaitUntilAsync(n => n[0].View.IsServing, "the seed serving", TimeSpan.FromSeconds(20));

        var stranger = await cluster.AddNodeAsync(overrides: ["memo.network.erasure = \"4+2\""]);
        var node = stranger.Running;

        Assert.Equal(Memo.Node.Hosting.MemoNodeExit.Downed, await node.Exited.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("erasure 4+2", node.Cluster.View.Problem, StringComparison.Ordinal);
        Assert.Equal([cluster.Nodes[0].View.Self], cluster.Nodes[0].View.Placement.Ring.Nodes);
    }
}
