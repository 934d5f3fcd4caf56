using System.Text.Json;
using Memo.Cli;
using Memo.Testing;

namespace Memo.Node.Tests.Cli;

/// <summary>
/// <c>memo bench kv --workload mixed</c> against a real in-process node through the CLI's real client: the report
/// gives every operation's figures and each kind's (gets through the linearizable read path, puts through Raft).
/// </summary>
public sealed class BenchKvNodeTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(["memo.shards.count = 4"]);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<(int Code, FakeIo Io)> RunAsync(params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--node", _node.Address, "--timeout", "30s"]);
        return (code, io);
    }

    [Fact]
    public async Task A_short_mixed_run_reports_reads_and_writes_apart_in_json_and_in_text()
    {
        var (code, io) = await RunAsync("bench", "kv", "--workload", "mixed", "--read-ratio", "0.5", "--keys", "40", "--concurrency", "4",
            "--duration", "500ms", "--warmup", "0", "--json");
        Assert.True(code == ExitCodes.Ok, io.Err.ToString());
        using (var doc = JsonDocument.Parse(io.Out.ToString()))
        {
            var root = doc.RootElement;
            Assert.Equal("mixed", root.GetProperty("workload").GetString());
            Assert.Equal(0, root.GetProperty("errors").GetInt64());
            var reads = root.GetProperty("reads").GetInt64();
            var writes = root.GetProperty("writes").GetInt64();
            Assert.True(reads > 0 && writes > 0, $"reads {reads}, writes {writes}");
            Assert.Equal(root.GetProperty("ops").GetInt64(), reads + writes);
            Assert.True(root.GetProperty("readsPerSecond").GetDouble() > 0);
            Assert.True(root.GetProperty("writesPerSecond").GetDouble() > 0);
            foreach (var kind in new[] { "latencyUs", "readLatencyUs", "writeLatencyUs" })
            {
                var latency = root.GetProperty(kind);
                Assert.True(latency.GetProperty("p50").GetInt64() > 0, kind);
                Assert.True(latency.GetProperty("p99").GetInt64() >= latency.GetProperty("p50").GetInt64(), kind);
            }
        }
        // Every key was written before the run, so every get found its value.
        using (var client = _node.Client())
        {
            Assert.All(await Task.WhenAll(Enumerable.Range(0, 40).Select(i => client.FetchAsync($"bench/{i:D8}"))), Assert.NotNull);
        }

        var (textCode, text) = await RunAsync("bench", "kv", "--workload", "mixed", "--keys", "40", "--concurrency", "2",
            "--duration", "300ms", "--warmup", "0");
        Assert.True(textCode == ExitCodes.Ok, text.Err.ToString());
        var lines = text.Out.ToString().Split('\n').Select(l => l.Trim()).ToArray();
        Assert.Contains(lines, l => l.StartsWith("bench kv: memo at", StringComparison.Ordinal) && l.Contains("mixed (0.5 reads)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("ops/s", StringComparison.Ordinal) && l.Contains(" reads, ", StringComparison.Ordinal) && l.EndsWith(" writes)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("all ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("reads ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("writes ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_read_ratio_is_refused_with_the_reason_and_the_node_keeps_serving()
    {
        var (code, io) = await RunAsync("bench", "kv", "--workload", "mixed", "--read-ratio", "1.5", "--duration", "200ms");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("error: --read-ratio must be a number from 0 to 1, not '1.5'", FirstLine(io));
        Assert.Equal("", io.Out.ToString());

        var (putCode, put) = await RunAsync("bench", "kv", "--workload", "put", "--read-ratio", "0.5", "--duration", "200ms");
        Assert.Equal(ExitCodes.Usage, putCode);
        Assert.Equal("error: --read-ratio applies to --workload mixed only, not 'put'", FirstLine(put));

        Assert.Equal(ExitCodes.Ok, (await RunAsync("kv", "put", "after", "refusals")).Code);
    }

    // A usage error is one "error:" line, then a pointer to --help.
    private static string FirstLine(FakeIo io) => io.Err.ToString().Split(Environment.NewLine)[0];
}
