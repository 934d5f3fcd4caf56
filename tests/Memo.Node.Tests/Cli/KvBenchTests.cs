using System.Collections.Concurrent;
using System.Text.Json;
using Memo.Cli.Bench;
using Memo.Cli.Commands;
using Memo.Cli.Output;

namespace Memo.Node.Tests.Cli;

public class KvBenchTests
{
    private sealed class InMemoryTarget(bool losesWrites = false) : IKvBenchTarget
    {
        public ConcurrentDictionary<int, int> Writes { get; } = new();

        public Task PutAsync(int key, CancellationToken cancellationToken)
        {
            if (!losesWrites)
            {
                Writes.AddOrUpdate(key, 1, (_, n) => n + 1);
            }
            return Task.Delay(1, cancellationToken);
        }

        public async Task<bool> GetAsync(int key, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return Writes.ContainsKey(key);
        }
    }

    private static KvBenchSettings Settings(BenchWorkload workload, int keys = 50, int concurrency = 4, double readRatio = 0.5) =>
        new(BenchTargetKind.Memo, "fake", workload, concurrency, TimeSpan.FromMilliseconds(30), TimeSpan.Zero, 16, keys, readRatio, TimeSpan.FromSeconds(1), 1);

    [Fact]
    public async Task A_get_run_writes_every_key_first_and_then_reads_without_errors()
    {
        var target = new InMemoryTarget();
        var result = await KvBench.RunAsync(Settings(BenchWorkload.Get), target, CancellationToken.None);
        Assert.Equal(50, target.Writes.Count);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Writes);
        Assert.Equal(result.Operations, result.Latency.Count);
        Assert.Equal(result.Reads, result.Operations);
    }

    [Fact]
    public async Task A_mixed_run_writes_the_key_space_first_and_keeps_each_kinds_latencies_apart()
    {
        var target = new InMemoryTarget();
        var result = await KvBench.RunAsync(Settings(BenchWorkload.Mixed), target, CancellationToken.None);
        Assert.Equal(50, target.Writes.Count);
        Assert.Equal(0, result.Errors);
        Assert.True(result.Reads > 0 && result.Writes > 0, $"reads {result.Reads}, writes {result.Writes}");
        Assert.Equal(result.Reads, result.ReadLatency.Count);
        Assert.Equal(result.Writes, result.WriteLatency.Count);
        Assert.Equal(result.Operations, result.Latency.Count);
        // Populating (50 keys), the probe, then one write per measured put.
        Assert.Equal(50 + 1 + result.Writes, target.Writes.Values.Sum());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public async Task A_mixed_run_at_either_end_of_the_ratio_does_only_one_kind(double readRatio)
    {
        var result = await KvBench.RunAsync(Settings(BenchWorkload.Mixed, readRatio: readRatio), new InMemoryTarget(), CancellationToken.None);
        Assert.True(result.Operations > 0);
        Assert.Equal(readRatio == 1.0 ? result.Operations : 0, result.Reads);
        Assert.Equal(readRatio == 0.0 ? result.Operations : 0, result.Writes);
    }

    [Fact]
    public async Task A_put_run_does_not_populate_and_counts_only_writes()
    {
        var target = new InMemoryTarget();
        var result = await KvBench.RunAsync(Settings(BenchWorkload.Put, keys: 1_000_000), target, CancellationToken.None);
        Assert.Equal(0, result.Reads);
        Assert.Equal(result.Writes, result.Latency.Count);
        Assert.Equal(0, result.ReadLatency.Count);
        // The probe plus one write per measured operation, on a key space far larger than the run.
        Assert.Equal(result.Writes + 1, target.Writes.Values.Sum());
    }

    [Fact]
    public async Task Reads_of_keys_the_store_lost_are_errors_not_latencies()
    {
        var result = await KvBench.RunAsync(Settings(BenchWorkload.Get), new InMemoryTarget(losesWrites: true), CancellationToken.None);
        Assert.Equal(0, result.Operations);
        Assert.Equal(0, result.Latency.Count);
        if (result.Errors > 0)
        {
            Assert.IsType<MissingKeyException>(result.FirstError);
        }
    }

    [Fact]
    public async Task An_unreachable_store_fails_the_probe_with_its_error()
    {
        var target = new FailingTarget();
        var e = await Assert.ThrowsAsync<IOException>(() => KvBench.RunAsync(Settings(BenchWorkload.Put), target, CancellationToken.None));
        Assert.Equal("down", e.Message);
        Assert.Equal(1, target.Calls);
    }

    private sealed class FailingTarget : IKvBenchTarget
    {
        public int Calls;

        public Task PutAsync(int key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            return Task.FromException(new IOException("down"));
        }

        public Task<bool> GetAsync(int key, CancellationToken cancellationToken) => Task.FromException<bool>(new IOException("down"));
    }

    [Fact]
    public void The_json_report_has_settings_counts_and_percentiles_in_microseconds()
    {
        var latency = new LatencyHistogram();
        for (var v = 1; v <= 1000; v++)
        {
            latency.Record(v);
        }
        var settings = new KvBenchSettings(BenchTargetKind.Etcd, "127.0.0.1:2379", BenchWorkload.Get, 64, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), 256, 10_000, 0.9, TimeSpan.FromSeconds(30), 1);
        var result = new KvBenchResult(1000, 1000, 0, 2, TimeSpan.FromSeconds(10), latency, latency, new LatencyHistogram(), new IOException("boom"));
        var failure = new Failure(10, "IOException: boom", null);
        using var doc = JsonDocument.Parse(Json.Write(w => BenchKvCommand.WriteJson(w, settings, result, failure)));
        var root = doc.RootElement;
        Assert.Equal("etcd", root.GetProperty("target").GetString());
        Assert.Equal("127.0.0.1:2379", root.GetProperty("node").GetString());
        Assert.Equal("get", root.GetProperty("workload").GetString());
        Assert.Equal(64, root.GetProperty("concurrency").GetInt32());
        Assert.Equal(256, root.GetProperty("valueSize").GetInt32());
        Assert.Equal(1.0, root.GetProperty("readRatio").GetDouble());
        Assert.Equal(1000, root.GetProperty("ops").GetInt64());
        Assert.Equal(2, root.GetProperty("errors").GetInt64());
        Assert.Equal(100.0, root.GetProperty("opsPerSecond").GetDouble());
        var us = root.GetProperty("latencyUs");
        Assert.InRange(us.GetProperty("p50").GetInt64(), 500, 504);
        Assert.Equal(1000, us.GetProperty("max").GetInt64());
        Assert.True(us.TryGetProperty("p90", out _) && us.TryGetProperty("p99", out _) && us.TryGetProperty("p999", out _));
        Assert.Equal("IOException: boom", root.GetProperty("firstError").GetString());
        Assert.Equal(100.0, root.GetProperty("readsPerSecond").GetDouble());
        Assert.Equal(0.0, root.GetProperty("writesPerSecond").GetDouble());
        Assert.InRange(root.GetProperty("readLatencyUs").GetProperty("p50").GetInt64(), 500, 504);
        Assert.Equal(0, root.GetProperty("writeLatencyUs").GetProperty("p99").GetInt64());
    }
}
