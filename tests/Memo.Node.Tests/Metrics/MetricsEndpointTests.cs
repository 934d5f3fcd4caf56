using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Metrics;

public sealed partial class MetricsEndpointTests(ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Metrics_show_requests_raft_silo_cluster_and_process_families_after_a_short_load()
    {
        await using var node = await TestNode.StartAsync(["memo.metrics.listen = \"127.0.0.1:0\"", "memo.shards.count = 4"]);
        var url = node.Node.MetricsUrl ?? throw new InvalidOperationException("no metrics port");
        using var client = node.Client();
        for (var i = 0; i < 100; i++)
        {
            await client.UpsertAsync($"k{i}", new byte[] { (byte)i });
        }
        for (var i = 0; i < 50; i++)
        {
            Assert.NotNull(await client.FetchAsync($"k{i}"));
        }
        Assert.Null(await client.FetchAsync("missing"));

        var text = await ScrapeAsync(url);
        output.WriteLine(string.Join('\n', text.Split('\n').Where(l => l.StartsWith("memo_", StringComparison.Ordinal)).Take(60)));

        // Requests: a count per method and status, and the latency histogram.
        Assert.True(Sample(text, "memo_rpc_server_duration_seconds_count", "rpc_method=\"/memo.kvs.KeyValueStore/Upsert\"", "rpc_grpc_status_code=\"0\"") >= 100, "upserts counted");
        Assert.True(Sample(text, "memo_rpc_server_duration_seconds_bucket", "rpc_method=\"/memo.kvs.KeyValueStore/Upsert\"", "le=\"+Inf\"") >= 100, "upsert latency histogram");
        // Raft: proposals, append latency, per-shard term, commit and applied indexes, leadership.
        Assert.True(Sample(text, "memo_raft_proposals_total") >= 100, "proposals counted");
        Assert.True(Sample(text, "memo_raft_append_duration_seconds_count") >= 1, "append latency");
        var node0 = $"node=\"{node.Node.NodeId}\"";
        Assert.True(Sample(text, "memo_raft_term", node0, "shard=\"0\"") >= 1, "a term per shard");
        Assert.True(Sample(text, "memo_raft_applied_index", node0, "shard=\"0\"") >= 1, "an applied index per shard");
        Assert.Equal(4, SumOf(text, "memo_raft_leader", node0)); // one node leads all 4 shards
        // Silo: commits, their size and duration, bytes.
        Assert.True(Sample(text, "memo_silo_commit_duration_seconds_count", "flush=\"true\"") >= 1, "flushed commits timed");
        Assert.True(Sample(text, "memo_silo_commit_bytes_total") > 100, "bytes written");
        Assert.True(Sample(text, "memo_silo_commit_operations_count") >= 1, "batch sizes");
        // Cluster and rebalancing.
        Assert.Equal(1, Sample(text, "memo_cluster_members", node0, "status=\"up\""));
        Assert.Equal(0, Sample(text, "memo_cluster_unreachable", node0));
        Assert.Equal(1, Sample(text, "memo_cluster_serving", node0));
        Assert.Equal(0, Sample(text, "memo_rebalance_moves", node0));
        // The process: CPU, GC, memory (.NET's System.Runtime meter).
        Assert.True(Sample(text, "dotnet_process_cpu_time_seconds_total") > 0, "CPU time");
        Assert.Contains("dotnet_gc_", text, StringComparison.Ordinal);
        Assert.True(Sample(text, "dotnet_process_memory_working_set_bytes") > 1 << 20, "resident memory");
    }

    [Fact]
    public async Task Peer_link_counters_show_messages_and_batches_sent_to_each_peer()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, ["memo.raft.tick-interval = 20ms", "memo.metrics.listen = \"127.0.0.1:0\"", "memo.shards.count = 4"]);
        await ClusterData.ClusterDataTests.WaitAsync(cluster, n => ClusterData.ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        using (var client = ClusterData.ClusterDataTests.ClientOf(cluster.Nodes[0]))
        {
            for (var i = 0; i < 40; i++)
            {
                await client.UpsertAsync($"k{i}", new byte[] { (byte)i });
            }
        }
        var self = cluster.Nodes[0].Running;
        var text = await ScrapeAsync(self.MetricsUrl ?? throw new InvalidOperationException("no metrics port"));
        var node0 = $"node=\"{self.NodeId}\"";
        foreach (var peer in cluster.Nodes.Skip(1).Select(n => $"peer=\"{n.Running.NodeId}\""))
        {
            // Every put to a 3-replica group goes to both followers (appends), so each link carried messages.
            var sent = Sample(text, "memo_peer_messages_sent_total", node0, peer);
            var batches = Sample(text, "memo_peer_batches_sent_total", node0, peer);
            Assert.True(sent >= 1 && batches >= 1 && batches <= sent, $"{peer}: {sent} messages in {batches} batches");
            Assert.True(Sample(text, "memo_peer_messages_received_total", node0, peer) >= 1, $"{peer}: answers received");
            Assert.Equal(0, Sample(text, "memo_peer_messages_dropped_total", node0, peer));
        }
    }

    [Fact]
    public async Task Readiness_is_false_until_the_node_is_a_member_and_liveness_is_true_throughout()
    {
        var seedPort = FreePort();
        await using var joiner = await TestNode.StartAsync(["memo.metrics.listen = \"127.0.0.1:0\"", "memo.shards.count = 4",
            $"memo.node.seeds = [\"127.0.0.1:{seedPort}\"]"]);
        var url = joiner.Node.MetricsUrl!;
        var (status, body) = await GetAsync(url + "/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("not a cluster member", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "/healthz")).Status);

        // The seed comes up: the joiner becomes a member and ready.
        await using var seed = await TestNode.StartAsync(["memo.shards.count = 4", $"memo.node.remote = \"127.0.0.1:{seedPort}\""]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((status = (await GetAsync(url + "/readyz")).Status) != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.True(status == HttpStatusCode.OK, $"readiness after joining the seed: {status}; view: {joiner.Node.Cluster.View}");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "/healthz")).Status);
    }

    [Fact]
    public async Task Readiness_turns_false_when_a_serving_node_starts_to_stop_and_before_its_ports_close()
    {
        await using var node = await TestNode.StartAsync(["memo.metrics.listen = \"127.0.0.1:0\"", "memo.shards.count = 4"]);
        var url = node.Node.MetricsUrl!;
        await node.Node.Cluster.WaitForViewAsync(v => v.IsServing, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "/readyz")).Status);

        var stopping = node.Node.StopAsync();
        string? notReady = null;
        var answers = 0;
        using var quick = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (notReady is null && !stopping.IsCompleted)
        {
            try
            {
                using var response = await quick.GetAsync(url + "/readyz");
                answers++;
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    notReady = await response.Content.ReadAsStringAsync();
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                break; // the port closed
            }
        }
        await stopping;
        output.WriteLine($"{answers} readiness answers while stopping; the 503 said: {notReady}");
        Assert.NotNull(notReady);
        Assert.Contains("stopping", notReady, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_state_is_the_admin_view_as_json()
    {
        await using var node = await TestNode.StartAsync(["memo.metrics.listen = \"127.0.0.1:0\"", "memo.shards.count = 4"]);
        var url = node.Node.MetricsUrl!;
        await node.Node.Cluster.WaitForViewAsync(v => v.IsServing, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        using var client = node.Client();
        await client.UpsertAsync("a", new byte[] { 1 });

        using var state = JsonDocument.Parse(await Http.GetStringAsync(url + "/ui/state"));
        var root = state.RootElement;
        Assert.Equal(node.Node.NodeId.ToString(), root.GetProperty("node").GetProperty("id").GetString());
        Assert.True(root.GetProperty("node").GetProperty("calls").GetInt64() >= 1);
        var member = Assert.Single(root.GetProperty("members").EnumerateArray());
        Assert.Equal("up", member.GetProperty("status").GetString());
        Assert.Equal(4, root.GetProperty("shards").GetArrayLength());
        Assert.All(root.GetProperty("shards").EnumerateArray(), s => Assert.Equal(node.Node.NodeId.ToString(), s.GetProperty("leader").GetString()));

        var page = await Http.GetStringAsync(url + "/ui");
        Assert.Contains("<table id=\"shards\">", page, StringComparison.Ordinal);
    }

    private static async Task<string> ScrapeAsync(string url)
    {
        using var response = await Http.GetAsync(url + "/metrics");
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(string url)
    {
        using var response = await Http.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The value of the first sample of <paramref name="family"/> whose labels contain every one given; -1 when none.</summary>
    internal static double Sample(string text, string family, params string[] labels) =>
        Samples(text, family, labels).DefaultIfEmpty(-1).First();

    private static double SumOf(string text, string family, params string[] labels) => Samples(text, family, labels).Sum();

    private static IEnumerable<double> Samples(string text, string family, string[] labels)
    {
        foreach (Match m in SampleLine().Matches(text))
        {
            if (m.Groups["name"].Value == family && labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            {
                yield return double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
