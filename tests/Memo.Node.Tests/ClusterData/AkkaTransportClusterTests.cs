using System.Text;
using Memo.Testing;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// A node whose Raft links run over Akka.Remote catches up after a restart on its ports (the write/read path and the
/// proof that traffic goes over remoting are in <see cref="TcpPeerClusterTests"/>).
/// </summary>
public sealed class AkkaTransportClusterTests
{
    // Named, not left to the default (tcp).
    private static readonly string[] OverAkka = ["memo.raft.tick-interval = 20ms", "memo.peer.transport = akka"];

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
