using System.Diagnostics;
using BenchmarkDotNet.Running;
using Memo.Benchmarks;

// dotnet run -c Release --project tests/Memo.Benchmarks -- --quick   prints committed entries/s in a few seconds;
// any other arguments go to BenchmarkDotNet (e.g. --filter '*RaftGroup*').
if (args.Contains("--quick"))
{
    foreach (var batch in new[] { 1, 64, 512 })
    {
        var driver = new RaftGroupDriver(entryBytes: 256);
        driver.Commit(20_000, batch); // warm-up
        var count = 200_000;
        var watch = Stopwatch.StartNew();
        driver.Commit(count, batch);
        watch.Stop();
        Console.WriteLine($"3 replicas in memory, 256-byte entries, batch {batch,3}: {count / watch.Elapsed.TotalSeconds,12:N0} committed entries/s ({count:N0} entries in {watch.Elapsed.TotalMilliseconds:N0} ms)");
    }

    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(RaftGroupBenchmark).Assembly).Run(args);
return 0;
