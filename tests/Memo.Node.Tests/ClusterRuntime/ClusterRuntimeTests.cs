using Memo.Admin;
using AdminErrorCode = Memo.Admin.Wire.AdminErrorCode;
using Memo.Node.Cluster;
using Memo.Testing;

namespace Memo.Node.Tests.ClusterRuntime;

/// <summary>Real nodes in-process on loopback, members of one Akka.Cluster, in phases with barriers.</summary>
public sealed class ClusterRuntimeTests
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(20);

    // Akka forgets a removed member: gone means no record, or a Removed one.
    private static bool Gone(InProcessCluster.Slot node, NodeId id) => node.View.Membership.StatusOf(id) is null or MemberStatus.Removed;

    private static bool AllUp(IReadOnlyList<InProcessCluster.Slot> nodes, int count) =>
        nodes.Count > 0 && nodes.All(n =>
            n.View.IsConverged && n.View.Membership.Members.Values.Count(m => m.Status == MemberStatus.Up) == count
            && n.View.Membership.Equals(nodes[0].View.Membership));

    [Fact]
    public async Task Three_nodes_converge_to_three_Up_members_with_the_same_ring()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitUntilAsync(n => AllUp(n, 3), "3 nodes Up and converged", Phase);

        var views = cluster.Nodes.Select(n => n.View).ToList();
        Assert.Equal(3, views.Select(v => v.Self).Distinct().Count());
        for (var shard = 0; shard < 4; shard++)
        {
            var replicas = views[0].ReplicasOf(new ShardId(shard));
            Assert.Equal(3, replicas.Count);
            Assert.All(views, v => Assert.Equal(replicas, v.ReplicasOf(new ShardId(shard))));
        }
        Assert.All(views, v => Assert.True(v.IsServing, v.ToString()));
        Assert.Contains(views[0].Leader, views.Select(v => v.Self));
        Assert.All(views, v => Assert.Equal(views[0].Leader, v.Leader));
    }

    [Fact]
    public async Task A_fourth_node_joins_through_node_2_and_all_see_four_Up()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitUntilAsync(n => AllUp(n, 3), "3 nodes Up", Phase);

        await cluster.AddNodeAsync(seedIndex: 1);
        await cluster.WaitUntilAsync(n => AllUp(n, 4), "4 nodes Up after a join through node 2", Phase);
        Assert.Equal(4, cluster.Nodes[3].View.Membership.Members.Count);
    }

    [Fact]
    public async Task A_node_that_leaves_gracefully_ends_Removed_on_all_others()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitUntilAsync(n => AllUp(n, 3), "3 nodes Up", Phase);
        var leaving = cluster.Nodes[2].View.Self;

        var result = await cluster.Nodes[2].Running.Cluster.LeaveAsync(null, CancellationToken.None);
        Assert.Equal(Memo.Node.Cluster.Runtime.ClusterCommandStatus.Done, result.Status);

        await cluster.WaitUntilAsync(
            n => n.Take(2).All(s => Gone(s, leaving) && s.View.IsConverged),
            "the leaving node Removed on nodes 1 and 2", Phase);
        Assert.All(cluster.Nodes.Take(2), s => Assert.DoesNotContain(leaving, s.View.Placement.Ring.Nodes));
    }

    [Fact]
    public async Task A_killed_node_becomes_unreachable_then_Down_then_Removed_on_the_survivors()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitUntilAsync(n => AllUp(n, 3), "3 nodes Up", Phase);
        var victim = cluster.Nodes[2].View.Self;

        await cluster.KillAsync(2);
        await cluster.WaitUntilAsync(n => n.All(s => s.View.Unreachable.Contains(victim) || s.View.Membership.StatusOf(victim) is null or MemberStatus.Down or MemberStatus.Removed),
            "the killed node unreachable on the survivors", Phase);
        await cluster.WaitUntilAsync(n => n.All(s => Gone(s, victim) && s.View.IsConverged),
            "the killed node Down then Removed after the eviction delay", Phase);
        Assert.All(cluster.Running, s => Assert.True(s.View.IsServing, s.View.ToString()));
    }

    [Fact]
    public async Task The_admin_Down_removes_a_member_and_Show_lists_the_members()
    {
        // A long eviction delay so only the operator's Down can remove the stopped node.
        await using var cluster = await InProcessCluster.StartAsync(3, ["memo.network.eviction-delay = 1h"]);
        await cluster.WaitUntilAsync(n => AllUp(n, 3), "3 nodes Up", Phase);
        var victim = cluster.Nodes[2].View.Self;
        await cluster.StopAsync(2);

        await using var admin = TestAdmin.Connect(cluster.Nodes[0].RemoteAddress, network: cluster.Network);
        var shown = await admin.ShowAsync();
        Assert.Equal(3, shown.Members.Count);
        Assert.Equal(cluster.Nodes[0].View.Self.ToString(), shown.SelfId);

        var unknown = await Assert.ThrowsAsync<AdminException>(() => admin.DownAsync("127.0.0.1:1"));
        Assert.Equal(AdminErrorCode.NotFound, unknown.Code);

        Assert.Equal(victim.ToString(), await admin.DownAsync(victim.ToString()));
        await cluster.WaitUntilAsync(n => n.All(s => Gone(s, victim)), "the downed node Removed on the survivors", Phase);
        await cluster.WaitUntilAsync(n => n.All(s => s.View.Placement.Ring.NodeCount == 2), "the downed node off the ring after the ring-removal delay", Phase);

        var shards = await admin.ShardsAsync();
        Assert.Equal(4, shards.Shards.Count);
        Assert.All(shards.Shards, s => Assert.Equal(2, s.Replicas.Count));
        Assert.All(shards.Shards, s => Assert.True(s.UnderReplicated));
    }

    [Fact]
    public async Task A_node_whose_data_folder_has_another_shard_count_is_refused_with_a_clear_problem()
    {
        await using var cluster = await InProcessCluster.StartAsync(1);
        await cluster.WaitUntilAsync(n => AllUp(n, 1), "the seed Up", Phase);

        var stranger = await cluster.AddNodeAsync(overrides: ["memo.shards.count = 8"]);
        var node = stranger.Running;
        // The stranger steps out of the cluster it joined and stops, saying why.
        Assert.Equal(Memo.Node.Hosting.MemoNodeExit.Downed, await node.Exited.WaitAsync(Phase));
        Assert.Contains("8 shards", node.Cluster.View.Problem, StringComparison.Ordinal);
        Assert.False(node.Cluster.View.IsServing);
        await cluster.WaitUntilAsync(n => Gone(n[0], node.NodeId), "the stranger gone from the seed's view", Phase);
        Assert.Equal([cluster.Nodes[0].View.Self], cluster.Nodes[0].View.Placement.Ring.Nodes);
    }

    [Theory]
    [InlineData("tcp", "akka")]
    [InlineData("akka", "tcp")]
    public async Task A_node_on_the_other_peer_transport_is_refused_naming_the_setting(string clusterTransport, string strangerTransport)
    {
        await using var cluster = await InProcessCluster.StartAsync(1, [$"memo.peer.transport = {clusterTransport}"]);
        await cluster.WaitUntilAsync(n => AllUp(n, 1), "the seed Up", Phase);

        var stranger = await cluster.AddNodeAsync(overrides: [$"memo.peer.transport = {strangerTransport}"]);
        var node = stranger.Running;
        // Raft could not pass between the two: the stranger steps out and stops, saying which setting differs, and the
        // seed never places it.
        Assert.Equal(Memo.Node.Hosting.MemoNodeExit.Downed, await node.Exited.WaitAsync(Phase));
        Assert.Contains($"memo.peer.transport = {clusterTransport} and this node {strangerTransport}", node.Cluster.View.Problem, StringComparison.Ordinal);
        Assert.False(node.Cluster.View.IsServing);
        await cluster.WaitUntilAsync(n => Gone(n[0], node.NodeId), "the stranger gone from the seed's view", Phase);
        Assert.Equal([cluster.Nodes[0].View.Self], cluster.Nodes[0].View.Placement.Ring.Nodes);
    }

    [Fact]
    public async Task A_restarted_node_resumes_its_membership()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitUntilAsync(n => AllUp(n, 3), "3 nodes Up", Phase);
        var id = cluster.Nodes[1].View.Self;

        await cluster.StopAsync(1);
        await cluster.RestartAsync(1);
        Assert.Equal(id, cluster.Nodes[1].View.Self);
        await cluster.WaitUntilAsync(n => AllUp(n, 3), "3 nodes Up again after the restart", Phase);
    }
}
