using System.Diagnostics;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Nemesis;

/// <summary>
/// The whole-cluster restart rule between real processes (<see cref="Memo.Node.Cluster.Runtime.RestartFormation"/>):
/// after every node is killed at once and restarted in any order, the cluster forms again with no operator; a lone
/// node restarted while the other two run joins them and forms nothing of its own.
/// </summary>
public sealed class WholeClusterRestartTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-restart-" + Guid.NewGuid().ToString("n"));

    [Fact]
    public async Task Every_node_killed_at_once_and_restarted_in_any_order_forms_the_cluster_again_by_itself()
    {
        var seed = Random.Shared.Next(1, 1_000_000);
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var cluster = await NemesisCluster.StartAsync(_root, 3, ProcessNemesis.NodeSettings(staleReads: false), seed, Bound);
        var before = await IdsAsync(cluster);
        for (var round = 1; round <= 2; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 3).Select(cluster.KillAsync));
            // Round 1 keeps node 0, which founded the shard groups, down until the others have re-formed the cluster:
            // the node that forms it again is then never the founder. Round 2: every node, in a random order, a second
            // or two apart; the first restarted must not form alone before a majority answers, and the late ones must
            // find the cluster the others formed.
            var order = round == 1 ? [1, 2] : Enumerable.Range(0, 3).OrderBy(_ => random.Next()).ToList();
            var clock = Stopwatch.StartNew();
            foreach (var node in order)
            {
                await cluster.RestartAsync(node);
                await Task.Delay(random.Next(500, 2500));
            }
            if (round == 1)
            {
                await WaitForAnUpMemberAsync(cluster, 1);
                await cluster.RestartAsync(0);
                order.Add(0);
            }
            await cluster.WaitMembersUpAsync(Bound);
            output.WriteLine($"round {round}: restarted in the order {string.Join(", ", order)}; every member Up on every node {clock.Elapsed.TotalSeconds:0.0} s after the first restart");
            // The same three members (same node ids): one cluster, not a new one per node.
            Assert.Equal(before, await IdsAsync(cluster));
            // Re-forming is not founding: a node that founded the groups again would run a new one-voter group of
            // every shard beside the real one.
            for (var node = 0; node < 3; node++)
            {
                Assert.DoesNotContain("Founded the network's shard groups", cluster.Output(node), StringComparison.Ordinal);
                Assert.DoesNotContain("(bootstrap: True)", cluster.Output(node), StringComparison.Ordinal);
            }
        }
    }

    private static async Task WaitForAnUpMemberAsync(NemesisCluster cluster, int node)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!(await cluster.ShowAsync(node) is { } show && show.Members.Any(m => m.Status == "up")))
        {
            Assert.True(DateTime.UtcNow < deadline, $"node {node} saw no member Up within {Bound} of the restart\n{cluster.Outputs()}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_node_restarted_alone_while_the_others_run_joins_them()
    {
        var seed = Random.Shared.Next(1, 1_000_000);
        output.WriteLine($"seed {seed}");
        await using var cluster = await NemesisCluster.StartAsync(_root, 3, ProcessNemesis.NodeSettings(staleReads: false), seed, Bound);
        var before = await IdsAsync(cluster);
        // Node 0 is the lowest address in some runs and not in others; either way it must join the running two.
        foreach (var node in new[] { 0, 2 })
        {
            await cluster.KillAsync(node);
            await cluster.RestartAsync(node);
            await cluster.WaitMembersUpAsync(Bound);
            var show = await cluster.ShowAsync(node);
            Assert.NotNull(show);
            // Had it formed a cluster of its own, it would report itself alone (or its own incarnation twice).
            Assert.Equal(before, show.Value.Members.Select(m => m.Id).Order().ToList());
            output.WriteLine($"node {node} restarted alone and rejoined the running members");
        }
    }

    private static async Task<List<string>> IdsAsync(NemesisCluster cluster)
    {
        var show = await cluster.ShowAsync(0) ?? throw new InvalidOperationException("node 0 did not answer cluster show");
        return [.. show.Members.Select(m => m.Id).Order()];
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
