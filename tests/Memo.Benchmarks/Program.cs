using System.Diagnostics;
using BenchmarkDotNet.Running;
using Memo.Benchmarks;

// dotnet run -c Release --project tests/Memo.Benchmarks -- --quick   prints committed entries/s in a few seconds;
// dotnet run -c Release --project tests/Memo.Benchmarks -- --peer-stream   prints frames/s of the Akka peer transport
// over loopback and the frames it coalesces per Akka message;
// dotnet run -c Release --project tests/Memo.Benchmarks -- --peer-rtt   prints serial round-trip p50/p99 of the Akka and the
// TCP peer transports between two transports in one process over 127.0.0.1;
// dotnet run -c Release --project tests/Memo.Benchmarks -- --policies   prints each compression codec's ratio and speed
// and each data policy's cost on a SQLite silo's puts and gets (docs/performance.md, Data policies); --policies-node
// the same on a whole in-process node over gRPC;
// dotnet run -c Release --project tests/Memo.Benchmarks -- --replicas [--sqlite] [--lease] [--cases p1,p64,r1,r64] [--runs 3]   prints proposals and reads per second and
// the process's CPU µs per operation of 16 real 3-replica shard groups in one process (the replica runtime's cost);
// dotnet run -c Release --project tests/Memo.Benchmarks -- --large-parse   prints the CPU per 1 MiB key-value write from
// its received bytes to its block's encoding, protobuf's way and KvWriteRequestParser's (docs/performance.md, Large values);
// any other arguments go to BenchmarkDotNet (e.g. --filter '*RaftGroup*').
if (args.Contains("--replicas"))
{
    var sqlite = args.Contains("--sqlite");
    var lease = args.Contains("--lease"); // leaders answer reads under a leader lease (memo.raft.lease-reads, the node's default)
    await using var driver = await ReplicaGroupDriver.StartAsync(shards: 16, sqlite, lease);
    // --cases p1,p64,r1,r64 picks proposals (p) or reads (r) at a number of callers; --runs N measured runs each.
    var cases = Option("--cases")?.Split(',').Select(c => (c[0] == 'r', int.Parse(c[1..], System.Globalization.CultureInfo.InvariantCulture))).ToArray()
        ?? [(false, 1), (false, 64), (true, 1), (true, 64)];
    var runs = Option("--runs") is { } n ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : 3;
    foreach (var (reads, workers) in cases)
    {
        await driver.RunAsync(reads, workers, TimeSpan.FromSeconds(2)); // warm-up (JIT tiers)
        for (int run = 0; run < runs; run++)
        {
            var r = await driver.RunAsync(reads, workers, TimeSpan.FromSeconds(5));
            Console.WriteLine($"replicas ({(sqlite ? "sqlite normal" : "memory")} silo{(lease ? ", lease reads" : "")}), {(reads ? "reads    " : "proposals")} c={workers,2}: {r.OpsPerSecond,10:N0} ops/s, {r.CpuMicrosPerOp,8:N1} CPU µs/op ({r.Failed} not done); "
                + $"per op: {r.TurnsPerOp,5:N2} turns, {r.ReadyTurnsPerOp,5:N2} Ready turns, {r.ReadIndexesPerOp,5:N2} ReadIndex, {r.CommitsPerOp,5:N2} silo commits; {r.InputsPerTurn,5:N2} inputs/turn");
        }
    }

    return 0;
}

if (args.Contains("--peer-stream"))
{
    await using var driver = new PeerStreamDriver();
    await driver.StreamAsync(TimeSpan.FromSeconds(3), 256); // warm-up
    for (int run = 0; run < 3; run++)
    {
        var (frames, perBatch, dropped) = await driver.StreamAsync(TimeSpan.FromSeconds(5), 256);
        Console.WriteLine($"Akka peer transport, 256-byte frames, one-way over 127.0.0.1: {frames,12:N0} frames/s, {perBatch,6:N1} frames per batch, {dropped} dropped");
    }

    return 0;
}

if (args.Contains("--peer-rtt"))
{
    foreach (var (name, start) in new (string, Func<PeerRttDriver>)[] { ("Akka", PeerRttDriver.Akka), ("TCP ", PeerRttDriver.Tcp) })
    {
        await using var driver = start();
        await driver.RunAsync(2_000, 400); // warm-up: the link's hello, JIT tiers
        for (int run = 0; run < 3; run++)
        {
            var (p50, p99) = await driver.RunAsync(10_000, 400);
            Console.WriteLine($"{name} peer transport, serial round trips of 400-byte Raft messages over 127.0.0.1: p50 {p50,7:N1} µs, p99 {p99,8:N1} µs");
        }
    }

    return 0;
}

if (args.Contains("--large-parse"))
{
    LargeValueParseFigures.Run();
    return 0;
}

if (args.Contains("--policies-node"))
{
    await PolicyNodeFigures.RunAsync(PolicyData.Json, "JSON");
    return 0;
}

if (args.Contains("--policies"))
{
    PolicyFigures.Codecs();
    await PolicyFigures.SilosAsync(1024, "JSON", PolicyData.Json);
    await PolicyFigures.SilosAsync(1024, "random", PolicyData.Random);
    return 0;
}

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

string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
