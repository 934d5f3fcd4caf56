using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Nemesis;

/// <summary>
/// The process nemesis's link faults reach Raft on either peer transport (<see cref="NemesisCluster"/> proxies the
/// remoting port and the TCP peer port alike): a node cut off from the others loses every shard group it led to them,
/// and no write made through it commits while it is cut off. Were only membership cut (the TCP peer port unproxied),
/// its followers would keep hearing it and elect no one.
/// </summary>
public sealed class LinkCutTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    // Elections take a few election timeouts (1 s each here); generous for a loaded machine, short enough that a cut
    // which misses Raft fails the test in a minute.
    private static readonly TimeSpan Election = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-link-cut-" + Guid.NewGuid().ToString("n"));

    [Theory]
    [InlineData("tcp")]
    [InlineData("akka")]
    public async Task A_partitioned_leader_loses_its_groups_to_the_majority_and_commits_no_write_made_through_it(string transport)
    {
        var seed = Random.Shared.Next(1, 1_000_000);
        output.WriteLine($"seed {seed}, memo.peer.transport = {transport}");
        await using var cluster = await NemesisCluster.StartAsync(Path.Combine(_root, transport), 3,
            [.. ProcessNemesis.NodeSettings(staleReads: false), "--set", $"memo.peer.transport={transport}"], seed, Bound);
        var (victim, led) = await WaitForLeadersAsync(cluster);
        var majority = Enumerable.Range(0, 3).Where(n => n != victim).ToList();

        cluster.Faults.Partition([victim], majority);
        output.WriteLine($"node {victim} leads shard(s) {string.Join(", ", led)}: {cluster.Faults}");

        // Raft heard nothing from the victim: the majority elected leaders of its own for every group it led.
        var deadline = DateTime.UtcNow + Election;
        var remaining = led.ToHashSet();
        while (remaining.Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"seed {seed}: shard(s) {string.Join(", ", remaining)} that node {victim} led have no leader on nodes {string.Join(" and ", majority)} within {Election} of the partition\n{cluster.Outputs()}");
            foreach (var node in majority)
            {
                if (await cluster.ShardLeadersAsync(node) is { } leaders)
                {
                    remaining.RemoveWhere(s => leaders.TryGetValue(s, out var l) && majority.Contains(l));
                }
            }
            await Task.Delay(250);
        }

        // Writes through the cut-off node (to groups it may still think it leads, or forwarded to the majority's
        // leaders) are not acknowledged, and the majority has none of them.
        using (var isolated = new MemoClient(cluster.ApiAddress(victim), new MemoClientOptions { Timeout = TimeSpan.FromSeconds(3) }))
        {
            for (var i = 0; i < 8; i++)
            {
                await Assert.ThrowsAsync<GrpcException>(() => isolated.UpsertAsync($"isolated/{i}", "x"u8.ToArray()));
            }
        }
        using (var reader = new MemoClient(cluster.ApiAddress(majority[0]), new MemoClientOptions { Timeout = TimeSpan.FromSeconds(20) }))
        {
            for (var i = 0; i < 8; i++)
            {
                Assert.Null(await reader.FetchAsync($"isolated/{i}"));
            }
        }

        // Raft ran through the proxies of the transport in use: the TCP peer ports carried it on tcp, and were never
        // dialled on akka.
        var peerConnections = cluster.PeerProxies.Sum(p => p.Counts.Accepted);
        Assert.True(transport == "tcp" ? peerConnections > 0 : peerConnections == 0, $"{peerConnections} connection(s) through the peer-port proxies on {transport}");

        cluster.Faults.HealAll();
        await cluster.WaitMembersUpAsync(Bound);
    }

    // Every replica on every node counts the three nodes as its group's voters (a group node 0 founded gains the others
    // as learners first: partitioned before that, node 0 alone is its majority) and every shard has a leader; the node
    // leading the most of them, with those shards.
    private static async Task<(int Node, List<int> Led)> WaitForLeadersAsync(NemesisCluster cluster)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!(await AllGroupsOfThreeAsync(cluster) && await cluster.ShardLeadersAsync(0) is { Count: > 0 } leaders && leaders.Values.All(l => l >= 0)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not every shard led by a group of the 3 nodes within {Bound}\n{cluster.Outputs()}");
            }
            await Task.Delay(250);
        }
        var most = await ProcessNemesis.MostLeadingAsync(cluster);
        Assert.NotEmpty(most.Led);
        return most;
    }

    private static async Task<bool> AllGroupsOfThreeAsync(NemesisCluster cluster)
    {
        for (var node = 0; node < cluster.Count; node++)
        {
            if (await cluster.LocalVotersAsync(node) is not { Count: > 0 } voters || voters.Values.Any(v => v.Count(n => n >= 0) != 3))
            {
                return false;
            }
        }
        return true;
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
