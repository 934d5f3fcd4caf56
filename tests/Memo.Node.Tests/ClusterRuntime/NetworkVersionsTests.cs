using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Configuration;
using Memo.Node.Storage;
using Memo.Testing;

namespace Memo.Node.Tests.ClusterRuntime;

/// <summary>
/// <c>memo.network.versions</c> as a network parameter: read and validated with the others, carried in the member roles,
/// recorded in the data folder, and a node made with another count refused at join (every node proposes writes, and a
/// node keeping fewer versions would prune the ones the others keep).
/// </summary>
public sealed class NetworkVersionsTests
{
    private static readonly RaftTiming Timing = new(TimeSpan.FromMilliseconds(100), 10, LeaseReads: true);

    private static NetworkParameters Network(int versions) => new("memo", 4, 3, TimeSpan.FromSeconds(30), Timing, Versions: versions);

    private static MemberIdentity Identity(ulong node, int versions) =>
        MemberIdentity.Of(new NodeId(node), $"127.0.0.1:{5000 + node}", [node * 1000], Network(versions));

    private static string NetworkRole(MemberIdentity identity) => identity.ToRoles().Single(r => r.StartsWith("memo-net:", StringComparison.Ordinal));

    [Fact]
    public void The_option_defaults_to_one_version_and_refuses_counts_outside_1_to_32()
    {
        Assert.Equal(1, MemoOptions.Load(null, []).Network.Versions);
        Assert.Equal(32, MemoOptions.Load(null, ["memo.network.versions = 32"]).Network.Versions);
        foreach (var bad in new[] { "0", "33" })
        {
            var problems = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, [$"memo.network.versions = {bad}"])).Problems;
            Assert.Equal([$"memo.network.versions = {bad}: must be between 1 and 32"], problems);
        }
    }

    [Fact]
    public void One_version_leaves_the_roles_as_before_versioning_and_more_travel_and_read_back_equal()
    {
        // Timing, then the data policies (none: /0/0), then nothing for one version.
        Assert.Equal("memo-net:4/3/30000/100000/10/1/0/0", NetworkRole(Identity(7, 1)));
        var versioned = Identity(7, 5);
        Assert.Equal("memo-net:4/3/30000/100000/10/1/0/0/5", NetworkRole(versioned));

        Assert.True(MemberIdentity.TryParse(versioned.ToRoles(), out var parsed, out var problem), problem);
        Assert.Equal(5, parsed!.Versions);
        Assert.True(parsed.SameNetworkAs(versioned));
    }

    [Fact]
    public void A_member_keeping_another_count_is_foreign_and_the_reason_names_both()
    {
        var self = Identity(1, 3);
        var other = Identity(2, 1); // also what a node from before versioning announces

        Assert.False(self.SameNetworkAs(other));
        var mapped = AkkaMemberMapping.Map(self,
        [
            new ObservedMember("127.0.0.1:6001", MemberStatus.Up, 1, self.ToRoles(), Reachable: true, IsLeader: true),
            new ObservedMember("127.0.0.1:6002", MemberStatus.Up, 2, other.ToRoles(), Reachable: true, IsLeader: false),
        ], new Dictionary<NodeId, Member>());

        Assert.Equal([self.Node], mapped.RingMembers.Select(m => m.Id));
        var reason = Assert.Single(mapped.Foreign).Value;
        Assert.Contains("versions 1", reason, StringComparison.Ordinal);
        Assert.Contains("versions 3", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("memo-net:4/3/30000/100000/10/1/1")] // one version is announced by leaving the part out
    [InlineData("memo-net:4/3/30000/100000/10/1/0")]
    [InlineData("memo-net:4/3/30000/100000/10/1/x")]
    [InlineData("memo-net:4/3/30000/100000/10/1/3/4")]
    public void Damaged_versions_in_the_roles_are_refused_with_a_reason(string role)
    {
        var roles = Identity(2, 3).ToRoles().Select(r => r.StartsWith("memo-net:", StringComparison.Ordinal) ? role : r);

        Assert.False(MemberIdentity.TryParse(roles, out _, out var problem));
        Assert.Contains("bad network parameters", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_data_folder_keeps_the_count_it_was_created_with_and_an_older_record_adopts_the_configured_one()
    {
        var silo = new MemorySilo();
        var first = await SiloClusterStore.OpenAsync(silo, Network(4), 4, CancellationToken.None);
        var reopened = await SiloClusterStore.OpenAsync(silo, Network(9), 4, CancellationToken.None);
        Assert.Equal(4, first.Network.Versions);
        Assert.Equal(4, reopened.Network.Versions);

        var legacySilo = new MemorySilo();
        var legacy = new Memo.Node.Cluster.Runtime.Wire.LocalClusterRecord
        {
            Format = 1, Node = 42, ShardCount = 4, ReplicationFactor = 3, EvictionDelayMs = 30_000, NetworkName = "memo",
            TickIntervalUs = 100_000, ElectionTicks = 10, LeaseReads = 2,
        };
        legacy.Tokens.Add(99UL);
        await legacySilo.CommitAsync(new SiloBatch().PutMeta(SiloClusterStore.MetaKey, Google.Protobuf.MessageExtensions.ToByteArray(legacy)));
        var adopted = await SiloClusterStore.OpenAsync(legacySilo, Network(6), 4, CancellationToken.None);
        var later = await SiloClusterStore.OpenAsync(legacySilo, Network(2), 4, CancellationToken.None);
        Assert.Equal(6, adopted.Network.Versions);
        Assert.Equal(6, later.Network.Versions);
    }

    [Fact]
    public async Task A_node_configured_to_keep_another_count_is_refused_at_join_with_a_clear_problem()
    {
        await using var cluster = await InProcessCluster.StartAsync(1);
        await cluster.WaitUntilAsync(n => n[0].View.IsServing, "the seed serving", TimeSpan.FromSeconds(20));

        var stranger = await cluster.AddNodeAsync(overrides: ["memo.network.versions = 3"]);
        var node = stranger.Running;

        Assert.Equal(Memo.Node.Hosting.MemoNodeExit.Downed, await node.Exited.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("versions 3", node.Cluster.View.Problem, StringComparison.Ordinal);
        Assert.Equal([cluster.Nodes[0].View.Self], cluster.Nodes[0].View.Placement.Ring.Nodes);
    }
}
