namespace Memo.Cli.Bench;

/// <summary>The parameters of one <c>memo bench kv</c> run.</summary>
internal sealed record KvBenchSettings(
    BenchTargetKind Target,
    string Endpoint,
    BenchWorkload Workload,
    int Concurrency,
    TimeSpan Duration,
    TimeSpan Warmup,
    int ValueSize,
    int Keys,
    double ReadRatio,
    TimeSpan Timeout,
    int Seed,
    Memo.Protocol.Client.WriteConsistencyLevel? WriteConsistency = null,
    Memo.Protocol.Client.ReadConsistencyLevel? ReadConsistency = null)
{
    /// <summary>True when the key space must exist before the run (every workload that reads).</summary>
    public bool NeedsPopulatedKeys => Workload != BenchWorkload.Put;
}
