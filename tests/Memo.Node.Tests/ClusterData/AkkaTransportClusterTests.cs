using System.Text;
using Memo.Node.Cluster;
using Memo.Node.Transport;
using Memo.Testing;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// The cluster data path with Raft carried by Akka.Remote between in-process nodes over loopback, with proof the traffic
/// went over remoting to each member's advertised endpoint.
/// </summary>
public sealed class AkkaTransportClusterTests
{
    private static readonly string[] OverAkka = ["memo.raft.tick-interval = 20ms"];

    [Fact]
    public async Task Three_nodes_linked_over_Akka_remoting_replicate_writes_made_through_node_1_to_reads_through_node_3()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, OverAkka);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas, over Akka links");
        await WaitAsync(cluster, _ => GroupsPlacedOnRing(cluster, 3), "every placed node hosts its replica; each group's one leader has the ring's voters");

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
            // Every member advertises its remoting endpoint.
            Assert.All(node.Cluster.View.Membership.MembersIn(MemberStatus.Up), m =>
                Assert.Equal(cluster.Nodes.Single(s => s.Running.NodeId == m.Id).Running.RemoteAddress, RemoteRoleAddressing.RemoteAddressIn(m.Roles)));
            // (A message or two may go unaddressed while a joiner's record has not reached this node yet.)
            Assert.IsType<RemoteRoleAddressing>(node.PeerTransport);
            // Raft runs between each group's leader and its followers, so a node links to the peers it shares a
            // leadership with (at least one), always at their remoting endpoints.
            var links = node.PeerTransport.GetLinkStats().Where(l => l.Sent > 0 && l.Received > 0).ToList();
            Assert.NotEmpty(links);
            Assert.All(links, l => Assert.Contains(l.Address, cluster.Nodes.Where(s => s != slot).Select(s => s.Running.RemoteAddress)));
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
