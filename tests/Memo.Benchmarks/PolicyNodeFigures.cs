using System.Diagnostics;
using Memo.Node.Configuration;
using Memo.Node.Hosting;
using Memo.Protocol.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Benchmarks;

/// <summary>
/// Each data policy's cost on a whole node: one in-process node (default options: synchronous=full, 64 shards), a gRPC
/// client with 32 callers upserting then fetching 1 KiB values for a few seconds each; puts/s, gets/s, the process's CPU
/// per operation (client included) and the bytes the shards hold. Run with <c>--policies-node</c>.
/// </summary>
internal static class PolicyNodeFigures
{
    public static async Task RunAsync(Func<int, int, byte[]> make, string dataName)
    {
        Console.WriteLine($"1 node in process, 32 callers, 1 KiB {dataName} values, 4 s of upserts then 4 s of fetches:");
        Console.WriteLine("policy                              puts/s  CPU us/put     gets/s  CPU us/get");
        var kekFile = Path.Combine(Path.GetTempPath(), $"memo-bench-{Guid.NewGuid():n}.kek");
        File.WriteAllText(kekFile, Memo.Node.Storage.Policies.KeyEncryptionKey.NewBase64());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(kekFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        try
        {
            // Two rounds: the first one also warms the JIT and the thread pool up, which favours whichever policy runs later.
            var policies = new[] { ("off, enc off", "off", "off"), ("zstd, enc off", "zstd", "off"), ("brotli, enc off", "brotli", "off"), ("off, enc on", "off", "on"), ("zstd, enc on", "zstd", "on") };
            var rounds = policies.Select(p => ("(warm-up) " + p.Item1, p.Item2, p.Item3)).Concat(policies);
            foreach (var (name, compression, encrypt) in rounds)
            {
                var folder = Directory.CreateTempSubdirectory("memo-policy-node-");
                try
                {
                    var options = MemoOptions.Load(null,
                    [
                        "memo.node.listen = \"127.0.0.1:0\"", "memo.node.remote = \"127.0.0.1:0\"",
                        $"memo.node.data-directory = \"{folder.FullName}\"", $"memo.network.compression = {compression}",
                        $"memo.network.encrypt-at-rest = {encrypt}", $"memo.node.kek-file = \"{kekFile}\"",
                    ]);
                    var node = await MemoNode.StartAsync(options, NullLoggerFactory.Instance);
                    try
                    {
                        using var client = new MemoClient(node.Address);
                        var values = Enumerable.Range(0, 64).Select(i => make(1024, i)).ToArray();
                        await RunAsync(32, TimeSpan.FromSeconds(1), (caller, n) => client.UpsertAsync($"k/{caller}/{n % 500}", values[n % values.Length])); // warm-up
                        var (puts, putCpu) = await RunAsync(32, TimeSpan.FromSeconds(4), (caller, n) => client.UpsertAsync($"k/{caller}/{n % 500}", values[n % values.Length]));
                        var (gets, getCpu) = await RunAsync(32, TimeSpan.FromSeconds(4), (caller, n) => client.FetchAsync($"k/{caller}/{n % 50}"));
                        Console.WriteLine($"{name,-32} {puts,10:N0} {putCpu,11:N0} {gets,10:N0} {getCpu,11:N0}");
                    }
                    finally
                    {
                        await node.StopAsync();
                    }
                }
                finally
                {
                    folder.Delete(recursive: true);
                }
            }
        }
        finally
        {
            File.Delete(kekFile);
        }
    }

    private static async Task<(double PerSecond, double CpuMicrosPerOp)> RunAsync(int callers, TimeSpan duration, Func<int, int, Task> operation)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var counts = new long[callers];
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
        {
            var n = 0;
            while (watch.Elapsed < duration)
            {
                await operation(caller, n++);
            }
            counts[caller] = n;
        }));
        var seconds = watch.Elapsed.TotalSeconds;
        process.Refresh();
        var total = counts.Sum();
        return (total / seconds, (process.TotalProcessorTime - cpu).TotalMicroseconds / total);
    }
}
