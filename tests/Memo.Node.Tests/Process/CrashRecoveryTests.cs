using System.Collections.Concurrent;
using System.Text;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Process;

public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_acknowledged_upsert_survives_a_SIGKILL_mid_stream()
    {
        var data = Path.Combine(Path.GetTempPath(), "memo-crash-" + Guid.NewGuid().ToString("n"));
        try
        {
            var acknowledged = new ConcurrentDictionary<int, bool>();
            await using (var node = await NodeProcess.StartAsync(data))
            {
                using var client = new MemoClient(node.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(10) });
                using var stop = new CancellationTokenSource();
                var enoughWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var next = -1;
                async Task WriterAsync()
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var i = Interlocked.Increment(ref next);
                        try
                        {
                            await client.UpsertAsync(Key(i), Value(i), CancellationToken.None);
                        }
                        catch (GrpcException)
                        {
                            return; // the node died under this call: unacknowledged
                        }
                        acknowledged[i] = true;
                        if (acknowledged.Count >= 1500)
                        {
                            enoughWritten.TrySetResult();
                        }
                    }
                }
                var writers = Enumerable.Range(0, 16).Select(_ => Task.Run(WriterAsync)).ToArray();
                await enoughWritten.Task.WaitAsync(TimeSpan.FromMinutes(2));
                // Kill while the writers are still going: some calls are in flight, unacknowledged.
                await node.KillAsync();
                stop.Cancel();
                await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(1));
                output.WriteLine($"acknowledged {acknowledged.Count} upserts of {next + 1} attempted before SIGKILL");
            }

            await using var restarted = await NodeProcess.StartAsync(data);
            using var reader = new MemoClient(restarted.Address);
            var missing = new List<int>();
            foreach (var i in acknowledged.Keys.Order())
            {
                var value = await reader.FetchAsync(Key(i));
                if (value is null || Encoding.UTF8.GetString(value) != Encoding.UTF8.GetString(Value(i)))
                {
                    missing.Add(i);
                }
            }
            Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes lost after restart, e.g. {string.Join(", ", missing.Take(10))}\nnode output:\n{restarted.Output}");
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task SIGTERM_stops_the_node_gracefully_with_exit_code_zero_and_keeps_its_data()
    {
        var data = Path.Combine(Path.GetTempPath(), "memo-term-" + Guid.NewGuid().ToString("n"));
        try
        {
            await using (var node = await NodeProcess.StartAsync(data))
            {
                using var client = new MemoClient(node.Address);
                await client.UpsertAsync("kept", Value(1));
                var exitCode = await node.TerminateAsync(TimeSpan.FromSeconds(30));
                Assert.True(exitCode == 0, $"exit code {exitCode}\n{node.Output}");
                Assert.Contains("Node stopped", node.Output, StringComparison.Ordinal);
            }
            await using var restarted = await NodeProcess.StartAsync(data);
            using var reader = new MemoClient(restarted.Address);
            Assert.Equal(Value(1), await reader.FetchAsync("kept"));
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_second_node_on_the_same_data_folder_is_refused_and_the_first_keeps_serving()
    {
        var data = Path.Combine(Path.GetTempPath(), "memo-lock-" + Guid.NewGuid().ToString("n"));
        try
        {
            await using var first = await NodeProcess.StartAsync(data);
            var second = await Assert.ThrowsAsync<InvalidOperationException>(() => NodeProcess.StartAsync(data));
            Assert.Contains("in use", second.Message, StringComparison.Ordinal);
            using var client = new MemoClient(first.Address);
            await client.UpsertAsync("still", Value(2));
            Assert.Equal(Value(2), await client.FetchAsync("still"));
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    private static string Key(int i) => $"crash/{i:D6}";

    private static byte[] Value(int i) => Encoding.UTF8.GetBytes($"value-{i}-" + new string('x', 200));
}
