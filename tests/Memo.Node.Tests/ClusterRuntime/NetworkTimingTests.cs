using Google.Protobuf;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Storage;
using Memo.Testing;

namespace Memo.Node.Tests.ClusterRuntime;

/// <summary>
/// The Raft timing as a network parameter: carried in the member roles, recorded in the data folder, and a node made
/// with another timing refused at join (with leases, mixed timing lets a leader's lease outlive a follower's election
/// timeout).
/// </summary>
public sealed class NetworkTimingTests
{
    private static readonly RaftTiming Default = new(TimeSpan.FromMilliseconds(100), 10, LeaseReads: true);

    private static NetworkParameters Network(RaftTiming timing) => new("memo", 4, 3, TimeSpan.FromSeconds(30), timing);

    private static MemberIdentity Identity(ulong node, RaftTiming timing) =>
        MemberIdentity.Of(new NodeId(node), $"127.0.0.1:{5000 + node}", [node * 1000], Network(timing));

    [Fact]
    public void The_timing_travels_in_the_roles_and_reads_back_equal()
    {
        var identity = Identity(7, new RaftTiming(TimeSpan.FromMilliseconds(20), 12, LeaseReads: false));

        Assert.True(MemberIdentity.TryParse(identity.ToRoles(), out var parsed, out var problem), problem);
        Assert.Equal(identity.Timing, parsed!.Timing);
        Assert.True(parsed.SameNetworkAs(identity));
    }

    [Theory]
    [InlineData(200, 10, true)]
    [InlineData(100, 12, true)]
    [InlineData(100, 10, false)]
    public void A_member_with_other_timing_is_foreign_and_the_reason_names_both(int tickMs, int electionTicks, bool leases)
    {
        var self = Identity(1, Default);
        var other = Identity(2, new RaftTiming(TimeSpan.FromMilliseconds(tickMs), electionTicks, leases));

        Assert.False(self.SameNetworkAs(other));
        var mapped = AkkaMemberMapping.Map(self,
        [
            new ObservedMember("127.0.0.1:6001", MemberStatus.Up, 1, self.ToRoles(), Reachable: true, IsLeader: true),
            new ObservedMember("127.0.0.1:6002", MemberStatus.Up, 2, other.ToRoles(), Reachable: true, IsLeader: false),
        ], new Dictionary<NodeId, Member>());

        Assert.Equal([self.Node], mapped.RingMembers.Select(m => m.Id));
        var reason = Assert.Single(mapped.Foreign).Value;
        Assert.Contains($"election-ticks {electionTicks}", reason, StringComparison.Ordinal);
        Assert.Contains("election-ticks 10", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_member_whose_roles_predate_the_timing_still_belongs()
    {
        var self = Identity(1, Default);
        // Roles as a node before this change wrote them: shards/rf/eviction-ms only.
        var legacy = Identity(2, Default).ToRoles().Select(r => r.StartsWith("memo-net:", StringComparison.Ordinal) ? "memo-net:4/3/30000" : r);

        Assert.True(MemberIdentity.TryParse(legacy, out var parsed, out var problem), problem);
        Assert.Null(parsed!.Timing);
        Assert.True(self.SameNetworkAs(parsed));
    }

    [Theory]
    [InlineData("memo-net:4/3/30000/0/10/1")]
    [InlineData("memo-net:4/3/30000/100000/10/2")]
    [InlineData("memo-net:4/3/30000/100000/x/1")]
    [InlineData("memo-net:4/3/30000/100000/10")]
    public void Damaged_timing_in_the_roles_is_refused_with_a_reason(string role)
    {
        var roles = Identity(2, Default).ToRoles().Select(r => r.StartsWith("memo-net:", StringComparison.Ordinal) ? role : r);

        Assert.False(MemberIdentity.TryParse(roles, out _, out var problem));
        Assert.Contains("bad network parameters", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_data_folder_keeps_the_timing_it_was_created_with()
    {
        var silo = new MemorySilo();
        var first = await SiloClusterStore.OpenAsync(silo, Network(Default), 4, CancellationToken.None);
        Assert.Equal(Default, first.Network.Timing);

        var edited = new RaftTiming(TimeSpan.FromMilliseconds(50), 20, LeaseReads: false);
        var reopened = await SiloClusterStore.OpenAsync(silo, Network(edited), 4, CancellationToken.None);

        Assert.Equal(first.Node, reopened.Node);
        Assert.Equal(Default, reopened.Network.Timing);
    }

    [Fact]
    public async Task A_record_written_before_the_timing_adopts_the_configured_one_and_keeps_it()
    {
        var silo = new MemorySilo();
        var legacy = new Memo.Node.Cluster.Runtime.Wire.LocalClusterRecord
        {
            Format = 1, Node = 42, ShardCount = 4, ReplicationFactor = 3, EvictionDelayMs = 30_000, NetworkName = "memo",
        };
        legacy.Tokens.Add(99UL);
        legacy.KnownMembers.Add("127.0.0.1:6001");
        await silo.CommitAsync(new SiloBatch().PutMeta(SiloClusterStore.MetaKey, legacy.ToByteArray()));

        var configured = new RaftTiming(TimeSpan.FromMilliseconds(20), 10, LeaseReads: true);
        var adopted = await SiloClusterStore.OpenAsync(silo, Network(configured), 4, CancellationToken.None);
        var later = await SiloClusterStore.OpenAsync(silo, Network(Default), 4, CancellationToken.None);

        Assert.Equal(configured, adopted.Network.Timing);
        Assert.Equal(configured, later.Network.Timing);
        Assert.Equal(new NodeId(42), later.Node);
        Assert.Equal(["127.0.0.1:6001"], later.KnownMembers.ToArray());
    }

    [Fact]
    public async Task A_node_configured_with_other_Raft_timing_is_refused_at_join_with_a_clear_problem()
    {
        await using var cluster = await InProcessCluster.StartAsync(1);
        await cluster.WaitUntilAsync(n => n[0].View.IsServing, "the seed serving", TimeSpan.FromSeconds(20));

        var stranger = await cluster.AddNodeAsync(overrides: ["memo.raft.election-ticks = 14"]);
        var node = stranger.Running;

        Assert.Equal(Memo.Node.Hosting.MemoNodeExit.Downed, await node.Exited.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("election-ticks 14", node.Cluster.View.Problem, StringComparison.Ordinal);
        Assert.False(node.Cluster.View.IsServing);
        Assert.Equal([cluster.Nodes[0].View.Self], cluster.Nodes[0].View.Placement.Ring.Nodes);
    }
}
