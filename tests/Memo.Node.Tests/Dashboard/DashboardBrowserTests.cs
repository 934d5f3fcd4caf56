using System.Text.Json;
using System.Text.RegularExpressions;
using Memo.Node.Tests.Metrics;
using Memo.Protocol.Client;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Dashboard;

/// <summary>
/// The dashboard as a person sees it: three node processes, the page rendered by headless Chromium (Debian's
/// <c>chromium</c>, installed by <c>.ci/run</c>), assertions on the DOM its script built, screenshots under
/// <c>artifacts/screenshots/</c>.
/// </summary>
public sealed partial class DashboardBrowserTests(ITestOutputHelper output)
{
    private const int Shards = 8;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private static readonly TimeSpan Render = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task The_dashboard_shows_three_members_the_shard_table_and_a_leader_change_after_a_node_is_killed()
    {
        var folders = Enumerable.Range(0, 3).Select(_ => Path.Combine(Path.GetTempPath(), "memo-ui-" + Guid.NewGuid().ToString("n"))).ToList();
        var nodes = new List<NodeProcess>();
        try
        {
            string[] common = ["--metrics", "127.0.0.1:0", "--shards", Shards.ToString(System.Globalization.CultureInfo.InvariantCulture)];
            nodes.Add(await NodeProcess.StartAsync(folders[0], common));
            nodes.Add(await NodeProcess.StartAsync(folders[1], [.. common, "--seed", nodes[0].RemoteAddress]));
            nodes.Add(await NodeProcess.StartAsync(folders[2], [.. common, "--seed", nodes[0].RemoteAddress]));
            Assert.All(nodes, n => Assert.NotNull(n.MetricsUrl));

            // Phase 1: three Up members, every shard on three replicas with a leader.
            var ready = await WaitForStateAsync(nodes[0].MetricsUrl!, "three Up members, every shard replicated three times with a leader",
                s => Members(s).Count(m => m.Status == "up") == 3
                     && Shard(s).All(x => x.Leader.Length > 0 && x.Replicas == 3 && x.Voters == 3));
            using (var client = new MemoClient(nodes[0].Address))
            {
                for (var i = 0; i < 40; i++)
                {
                    await client.UpsertAsync($"ui/{i}", new byte[] { (byte)i });
                }
            }

            var dom = await HeadlessChromium.DumpDomAsync(nodes[0].MetricsUrl + "/ui", Render);
            var members = MemberRows(dom);
            Assert.Equal(3, members.Count);
            Assert.All(members, m => Assert.Equal(("up", "true"), (m.Status, m.Reachable)));
            var leaders = ShardRows(dom);
            Assert.Equal(Enumerable.Range(0, Shards).ToList(), leaders.Keys.Order().ToList());
            Assert.All(leaders.Values, leader => Assert.Contains(leader, members.Select(m => m.Id)));
            var before = Path.Combine(TestPaths.Artifacts, "screenshots", "dashboard-3-members.png");
            await HeadlessChromium.ScreenshotAsync(nodes[0].MetricsUrl + "/ui", before, Render);
            output.WriteLine($"screenshot: {before} ({new FileInfo(before).Length} bytes)");

            // New replicas got their shard as a Raft snapshot: the metrics of the cluster say so.
            var snapshots = 0.0;
            foreach (var node in nodes)
            {
                snapshots += Math.Max(0, MetricsEndpointTests.Sample(await Http.GetStringAsync(node.MetricsUrl + "/metrics"), "memo_raft_snapshots_sent_total"));
            }
            Assert.True(snapshots >= 1, "snapshots sent to new replicas");

            // Phase 2: kill a node that leads at least one shard; watch from another.
            var ids = Members(ready).ToDictionary(m => m.Address, m => m.Id);
            var victim = nodes.First(n => leaders.Values.Contains(ids[n.Address]));
            var victimId = ids[victim.Address];
            var watcher = nodes.First(n => n != victim);
            var led = leaders.Where(l => l.Value == victimId).Select(l => l.Key).ToList();
            output.WriteLine($"killing {victimId} ({victim.Address}), leader of shards {string.Join(", ", led)}; watching from {watcher.MetricsUrl}");
            await victim.KillAsync();

            await WaitForStateAsync(watcher.MetricsUrl!, $"{victimId} unreachable and no shard led by it",
                s => Members(s).Any(m => m.Id == victimId && !m.Reachable) && Shard(s).All(x => x.Leader.Length > 0 && x.Leader != victimId));
            dom = await HeadlessChromium.DumpDomAsync(watcher.MetricsUrl + "/ui", Render);
            members = MemberRows(dom);
            Assert.Equal(3, members.Count);
            Assert.Equal("false", members.Single(m => m.Id == victimId).Reachable);
            var after = ShardRows(dom);
            foreach (var shard in led)
            {
                Assert.NotEqual(victimId, after[shard]);
                Assert.NotEqual("", after[shard]);
            }
            var killed = Path.Combine(TestPaths.Artifacts, "screenshots", "dashboard-after-kill.png");
            await HeadlessChromium.ScreenshotAsync(watcher.MetricsUrl + "/ui", killed, Render);
            output.WriteLine($"screenshot: {killed}; leaders after: {string.Join(", ", led.Select(s => $"{s}:{after[s]}"))}");
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
            foreach (var folder in folders)
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    private sealed record MemberState(string Id, string Address, string Status, bool Reachable);

    private sealed record ShardState(int Id, string Leader, int Replicas, int Voters);

    private static IEnumerable<MemberState> Members(JsonElement state) =>
        state.GetProperty("members").EnumerateArray().Select(m => new MemberState(m.GetProperty("id").GetString()!,
            m.GetProperty("address").GetString()!, m.GetProperty("status").GetString()!, m.GetProperty("reachable").GetBoolean()));

    private static IEnumerable<ShardState> Shard(JsonElement state) =>
        state.GetProperty("shards").EnumerateArray().Select(s => new ShardState(s.GetProperty("shard").GetInt32(), s.GetProperty("leader").GetString()!,
            s.GetProperty("replicas").GetArrayLength(),
            s.TryGetProperty("local", out var local) ? local.GetProperty("voters").GetArrayLength() : 3));

    private static async Task<JsonElement> WaitForStateAsync(string url, string what, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await Http.GetStringAsync(url + "/ui/state");
                using var document = JsonDocument.Parse(last);
                if (done(document.RootElement))
                {
                    return document.RootElement.Clone();
                }
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Waiting for {what} at {url}: not within 90 s; last state: {last}");
    }

    private static List<(string Id, string Status, string Reachable)> MemberRows(string dom) =>
        RowTag().Matches(dom).Select(m => m.Value).Where(t => t.Contains("data-member=", StringComparison.Ordinal))
            .Select(t => (Attribute(t, "data-member"), Attribute(t, "data-status"), Attribute(t, "data-reachable"))).ToList();

    private static Dictionary<int, string> ShardRows(string dom) =>
        RowTag().Matches(dom).Select(m => m.Value).Where(t => t.Contains("data-shard=", StringComparison.Ordinal))
            .ToDictionary(t => int.Parse(Attribute(t, "data-shard"), System.Globalization.CultureInfo.InvariantCulture), t => Attribute(t, "data-leader"));

    private static string Attribute(string tag, string name)
    {
        var match = Regex.Match(tag, name + "=\"([^\"]*)\"");
        return match.Success ? match.Groups[1].Value : throw new InvalidOperationException($"{name} missing in {tag}");
    }

    [GeneratedRegex("<tr[^>]*>")]
    private static partial Regex RowTag();
}
