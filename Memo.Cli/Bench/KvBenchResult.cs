namespace Memo.Cli.Bench;

/// <summary>What a bench run measured after its warm-up: successful operations, failures, and their latencies.</summary>
/// <param name="Operations">Operations that succeeded.</param>
/// <param name="Reads">Successful reads.</param>
/// <param name="Writes">Successful writes.</param>
/// <param name="Errors">Operations that failed (including reads of a key the store did not have).</param>
/// <param name="Elapsed">From the end of the warm-up to the completion of the last measured operation.</param>
/// <param name="Latency">Latencies of the successful operations, microseconds.</param>
/// <param name="ReadLatency">Latencies of the successful reads alone (empty when the run did not read).</param>
/// <param name="WriteLatency">Latencies of the successful writes alone (empty when the run did not write).</param>
/// <param name="FirstError">The first failure seen, for the report; null when none.</param>
internal sealed record KvBenchResult(
    long Operations, long Reads, long Writes, long Errors, TimeSpan Elapsed,
    LatencyHistogram Latency, LatencyHistogram ReadLatency, LatencyHistogram WriteLatency, Exception? FirstError)
{
    /// <summary>Successful operations per second over <see cref="Elapsed"/>.</summary>
    public double OperationsPerSecond => PerSecond(Operations);

    /// <summary>Successful reads per second over <see cref="Elapsed"/> (in a mixed run, the reads' share of the rate).</summary>
    public double ReadsPerSecond => PerSecond(Reads);

    /// <summary>Successful writes per second over <see cref="Elapsed"/>.</summary>
    public double WritesPerSecond => PerSecond(Writes);

    private double PerSecond(long count) => Elapsed > TimeSpan.Zero ? count / Elapsed.TotalSeconds : 0;
}
