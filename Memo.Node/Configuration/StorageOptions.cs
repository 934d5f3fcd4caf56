using System.Collections.Frozen;

namespace Memo.Node.Configuration;

/// <summary>The node's database and its group-commit writer (<c>memo.storage</c>).</summary>
/// <param name="Synchronous">How hard each commit is flushed.</param>
/// <param name="MaxBatchOperations">Most operations in one group commit.</param>
/// <param name="MaxBatchBytes">Most bytes in one group commit.</param>
/// <param name="ReadConnections">Read-only connections beside the single writer.</param>
/// <param name="QueueCapacity">Capacity of the writer's bounded queue.</param>
/// <param name="EntryCacheBytes">Memory for entries kept after a read (<see cref="Storage.EntryCacheSilo"/>); 0 turns it off.</param>
/// <param name="InlineCommits">Whether a commit that finds the writer idle runs on the caller's thread (<see cref="Storage.SqliteSiloOptions.InlineCommits"/>).</param>
/// <param name="WriterSpin">How long the idle writer thread polls for the next batch before it sleeps (<see cref="Storage.SqliteSiloOptions.WriterSpin"/>).</param>
/// <param name="CopyFileThreshold">Block copies larger than this are stored in files of their own (<see cref="Storage.SqliteSiloOptions.CopyFileThreshold"/>); 0: never.</param>
public sealed record StorageOptions(
    StorageSynchronous Synchronous,
    int MaxBatchOperations,
    long MaxBatchBytes,
    int ReadConnections,
    int QueueCapacity,
    long EntryCacheBytes,
    bool InlineCommits = false,
    long CopyFileThreshold = 64 * 1024,
    TimeSpan WriterSpin = default)
{
    internal const string Path = "memo.storage";

    private static readonly FrozenDictionary<string, StorageSynchronous> SynchronousChoices =
        new Dictionary<string, StorageSynchronous>(StringComparer.Ordinal)
        {
            ["full"] = StorageSynchronous.Full,
            ["normal"] = StorageSynchronous.Normal,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static StorageOptions Read(OptionsReader r) => new(
        r.Choice($"{Path}.synchronous", SynchronousChoices),
        r.Int32($"{Path}.max-batch-operations"),
        r.Bytes($"{Path}.max-batch-bytes"),
        r.Int32($"{Path}.read-connections"),
        r.Int32($"{Path}.queue-capacity"),
        r.Bytes($"{Path}.entry-cache-bytes"),
        r.OnOff($"{Path}.inline-commits"),
        r.Bytes($"{Path}.copy-file-threshold"),
        r.Duration($"{Path}.writer-spin"));

    internal void Validate(OptionsValidator v)
    {
        v.Range($"{Path}.max-batch-operations", MaxBatchOperations, 1, 1_000_000);
        v.SizeRange($"{Path}.max-batch-bytes", MaxBatchBytes, 4096, 1L << 30);
        v.Range($"{Path}.read-connections", ReadConnections, 1, 64);
        v.Range($"{Path}.queue-capacity", QueueCapacity, 1, 1 << 24);
        v.SizeRange($"{Path}.entry-cache-bytes", EntryCacheBytes, 0, 1L << 40);
        v.SizeRange($"{Path}.copy-file-threshold", CopyFileThreshold, 0, 1L << 30);
        v.DurationRange($"{Path}.writer-spin", WriterSpin, TimeSpan.Zero, TimeSpan.FromMilliseconds(10));
    }
}
