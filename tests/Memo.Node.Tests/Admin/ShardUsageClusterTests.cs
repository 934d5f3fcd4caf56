using Memo.Admin;
using Memo.Admin.Wire;
using Memo.Testing;

namespace Memo.Node.Tests.Admin;

/// <summary>
/// Per-shard keys and bytes in <c>memo cluster shards</c> come from each shard leader's own count, carried on the
/// status reports: a node answers them for the shards it does not lead.
/// </summary>
public sealed class ShardUsageClusterTests
{
    [Fact]
    public async Task A_node_that_leads_no_shard_shows_the_keys_and_bytes_its_leaders_counted()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, ["memo.shards.usage-interval = 200ms"]);
        await cluster.WaitUntilAsync(nodes => nodes.All(n => n.UpMembers == 3 && n.Shards.All(s => n.Running.Shards.TryGetReplica(s, out _))),
            "every node hosts a replica of every shard", TimeSpan.FromSeconds(60));
        using (var client = new Memo.Protocol.Client.MemoClient(cluster.Nodes[0].Address))
        {
            for (var i = 0; i < 30; i++)
            {
                // Random: incompressible, so the stored bytes cover the values whatever memo.network.compression is.
                await client.UpsertAsync($"usage/{i:D2}", System.Security.Cryptography.RandomNumberGenerator.GetBytes(200));
            }
        }

        // Ask the node that leads the fewest shards (the founder leads them all until an election moves one): every
        // shard it does not lead has its count from another node's report.
        var asked = cluster.Nodes.OrderBy(LeaderCount).First();
        Assert.True(LeaderCount(asked) < asked.Shards.Count(), "the node asked leads every shard");
        await using var admin = TestAdmin.Connect(asked.RemoteAddress, network: cluster.Network);
        ShardsResponse shards;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        do
        {
            await Task.Delay(100);
            shards = await admin.ShardsAsync();
        }
        while (shards.Shards.Aggregate(0UL, (sum, s) => sum + s.Keys) != 30 && DateTime.UtcNow < deadline);

        Assert.Equal(30UL, shards.Shards.Aggregate(0UL, (sum, s) => sum + s.Keys));
        Assert.All(shards.Shards, s => Assert.True(s.HasBytes, $"shard {s.Shard}: no byte count"));
        Assert.True(shards.Shards.Sum(s => (long)s.Bytes) >= 30 * 200);
        // The JSON rows (memo cluster shards --json, the dashboard) carry them too.
        var json = Memo.Cli.Output.Json.Write(w =>
        {
            w.WriteStartObject("shard");
            AdminJson.WriteShardFields(w, shards.Shards[0]);
            w.WriteEndObject();
        });
        Assert.Contains($"\"keys\":{shards.Shards[0].Keys}", json.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static int LeaderCount(InProcessCluster.Slot slot) =>
        slot.Shards.Count(s => slot.Running.Shards.TryGetReplica(s, out var r) && r.Status.IsLeader);
}
