using System.Text;
using Memo.Node.Cluster;
using Memo.Node.Transport;
using Memo.Testing;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// The cluster data path with Raft and gossip carried by Akka.Remote (<c>memo.node.peer-transport = "akka"</c>) between
/// in-process nodes over loopback: the same checks as the gRPC-linked cluster, plus proof the traffic went over remoting.
/// </summary>
public sealed class AkkaTransportClusterTests
{
    private static readonly string[] OverAkka = ["memo.raft.tick-interval = 20ms", "memo.node.peer-transport = \"akka\""];

    [Fact]
    public async Task Three_nodes_linked_over_Akka_remoting_replicate_writes_made_through_node_1_to_reads_through_node_3()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, OverAkka);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas, over Akka links");
        AssertGroupsPlacedOnRing(cluster, 3);

        using var writer = ClientOf(cluster.Nodes[0]);
        for (var i = 0; i < 200; i++)
        {
            await writer.UpsertAsync($"k/{i:D4}", V($"value {i}"));
        }
        using var reader = ClientOf(cluster.Nodes[2]);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal($"value {i}", Encoding.UTF8.GetString(await reader.FetchAsync($"k/{i:D4}") ?? V("<missing>")));
        }

        foreach (var slot in cluster.Nodes)
        {
            var node = slot.Running;
            // Every member advertises its remoting endpoint, and the links to the two peers carried traffic over it.
            Assert.All(node.Cluster.View.State.MembersIn(MemberStatus.Up), m =>
                Assert.Equal(cluster.Nodes.Single(s => s.Running.NodeId == m.Id).Running.RemoteAddress, RemoteRoleAddressing.RemoteAddressIn(m.Roles)));
            // (A message or two may go unaddressed while a joiner's record has not reached this node yet.)
            Assert.IsType<RemoteRoleAddressing>(node.PeerTransport);
            var links = node.PeerTransport.GetLinkStats().Where(l => l.Sent > 0 && l.Received > 0).ToList();
            Assert.Equal(2, links.Count);
            Assert.All(links, l => Assert.Contains(l.Address, cluster.Nodes.Select(s => s.Running.RemoteAddress)));
        }
    }

    [Fact]
    public async Task A_node_linked_over_Akka_remoting_catches_up_after_a_restart_on_its_ports()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, [.. OverAkka, "memo.network.eviction-delay = 1h"]);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas, over Akka links");

        await cluster.StopAsync(2);
        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            for (var i = 0; i < 100; i++)
            {
                await writer.UpsertAsync($"after/{i}", V($"a{i}"));
            }
        }

        await cluster.RestartAsync(2);
        var restarted = cluster.Nodes[2].Running;
        await WaitForAsync(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                if (await restarted.Shards.Silo.ReadEntryAsync($"after/{i}") is null)
                {
                    return false;
                }
            }
            return true;
        }, cluster, "the restarted node's silo holds the 100 writes made while it was stopped");
    }
}
