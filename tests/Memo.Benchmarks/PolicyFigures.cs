using System.Diagnostics;
using Memo.Node;
using Memo.Node.Storage;
using Memo.Node.Storage.Policies;

namespace Memo.Benchmarks;

/// <summary>
/// The figures behind the data policies (docs/performance.md, Data policies): each codec's ratio and speed on
/// representative values, then the cost of each policy on a SQLite silo's puts and gets (throughput, CPU per operation,
/// bytes stored). Run with <c>--policies</c>.
/// </summary>
internal static class PolicyFigures
{
    public static void Codecs()
    {
        Console.WriteLine("codec       data     size   ratio  compress MB/s  decompress MB/s");
        foreach (var size in new[] { 1024, 64 * 1024 })
        {
            foreach (var (name, make) in new (string, Func<int, int, byte[]>)[] { ("text", PolicyData.Text), ("json", PolicyData.Json), ("random", PolicyData.Random) })
            {
                var inputs = Enumerable.Range(0, Math.Max(8, (8 << 20) / size)).Select(i => make(size, i)).ToArray();
                foreach (var codec in new[] { ValueCompression.Zstd, ValueCompression.Brotli })
                {
                    // The codec's own output, even where the policy would store raw: the ratio is the codec's.
                    var compressed = inputs.Select(i => RecordCompressor.TryCompress(codec, i)).ToArray();
                    var total = inputs.Sum(i => (long)i.Length);
                    var stored = compressed.Select((c, i) => (long)(c?.Length ?? inputs[i].Length)).Sum();
                    var compressMBs = Throughput(total, () =>
                    {
                        foreach (var input in inputs)
                        {
                            RecordCompressor.TryCompress(codec, input);
                        }
                    });
                    var decompressMBs = compressed.All(c => c is null) ? double.NaN : Throughput(total, () =>
                    {
                        for (var i = 0; i < inputs.Length; i++)
                        {
                            if (compressed[i] is { } c)
                            {
                                RecordCompressor.Decompress(codec, c, inputs[i].Length);
                            }
                        }
                    });
                    Console.WriteLine($"{DataPolicies.Name(codec),-8} {name,7} {size,8:N0} {total / (double)stored,7:N2} {compressMBs,14:N0} {decompressMBs,16:N0}");
                }
            }
        }
    }

    private static double Throughput(long bytes, Action pass)
    {
        pass(); // warm-up
        var passes = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(1) || passes < 2)
        {
            pass();
            passes++;
        }
        return bytes * passes / watch.Elapsed.TotalSeconds / 1e6;
    }

    public static async Task SilosAsync(int valueBytes, string dataName, Func<int, int, byte[]> make)
    {
        Console.WriteLine($"SQLite silo (synchronous=normal), {valueBytes}-byte {dataName} values, 20,000 puts in batches of 64, then 20,000 gets:");
        Console.WriteLine("policy                    puts/s  CPU us/put     gets/s  CPU us/get   stored bytes");
        var kek = KeyEncryptionKey.FromBytes(new byte[KeyEncryptionKey.Length], "benchmark");
        DataPolicies[] all =
        [
            DataPolicies.None,
            new DataPolicies(ValueCompression.Zstd, false),
            new DataPolicies(ValueCompression.Brotli, false),
            new DataPolicies(ValueCompression.Off, true),
            new DataPolicies(ValueCompression.Zstd, true),
        ];
        // Two rounds, the first one unprinted: it warms the JIT up, which would favour whichever policy runs later.
        foreach (var (policies, round) in all.Select(p => (p, 0)).Concat(all.Select(p => (p, 1))))
        {
            var directory = Directory.CreateTempSubdirectory("memo-policy-bench-");
            try
            {
                var silo = await SealedSilo.OpenAsync(
                    await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = directory.FullName, Synchronous = SqliteSynchronousMode.Normal }),
                    policies, kek, null, CancellationToken.None);
                await using (silo)
                {
                    const int count = 20_000;
                    var values = Enumerable.Range(0, 256).Select(i => make(valueBytes, i)).ToArray();
                    var shard = new ShardId(0);
                    var process = Process.GetCurrentProcess();
                    var cpu = process.TotalProcessorTime;
                    var watch = Stopwatch.StartNew();
                    for (var i = 0; i < count; i += 64)
                    {
                        var batch = new SiloBatch();
                        for (var j = i; j < i + 64 && j < count; j++)
                        {
                            batch.PutEntry(shard, $"key/{j:D6}", values[j % values.Length]);
                        }
                        await silo.CommitAsync(batch);
                    }
                    var putSeconds = watch.Elapsed.TotalSeconds;
                    process.Refresh();
                    var putCpu = process.TotalProcessorTime - cpu;
                    cpu = process.TotalProcessorTime;
                    var order = new Random(1);
                    watch.Restart();
                    for (var i = 0; i < count; i++)
                    {
                        _ = await silo.ReadEntryAsync($"key/{order.Next(count):D6}") ?? throw new InvalidOperationException("a put is missing");
                    }
                    var getSeconds = watch.Elapsed.TotalSeconds;
                    process.Refresh();
                    var getCpu = process.TotalProcessorTime - cpu;
                    var usage = await silo.MeasureShardAsync(shard);
                    if (round == 0)
                    {
                        continue;
                    }
                    Console.WriteLine($"{policies.ToString().Replace("compression ", "", StringComparison.Ordinal).Replace("encrypt-at-rest ", "enc ", StringComparison.Ordinal),-22} {count / putSeconds,10:N0} {putCpu.TotalMicroseconds / count,11:N1} {count / getSeconds,10:N0} {getCpu.TotalMicroseconds / count,11:N1} {usage.EntryBytes,14:N0}");
                }
            }
            finally
            {
                directory.Delete(recursive: true);
            }
        }
    }
}
