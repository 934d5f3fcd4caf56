using BenchmarkDotNet.Attributes;

namespace Memo.Benchmarks;

/// <summary>Committed entries per second of a 3-replica in-memory group, 256-byte entries, proposals batched.</summary>
[MemoryDiagnoser]
public class RaftGroupBenchmark
{
    private RaftGroupDriver _driver = null!;

    [Params(1, 64, 512)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => _driver = new RaftGroupDriver(entryBytes: 256);

    /// <summary>Commits 10,000 entries (divide 10,000 by the mean time for entries/s).</summary>
    [Benchmark(OperationsPerInvoke = 10_000)]
    public void Commit_10000_entries() => _driver.Commit(10_000, Batch);
}
