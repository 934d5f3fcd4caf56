using System.Threading.Channels;
using Memo.Cli.Output;

namespace Memo.Cli.Commands;

/// <summary>
/// The loop <c>memo kv import</c> and <c>export</c> share: items go through a bounded queue to
/// <c>concurrency</c> workers, each finished item advances the progress display, and the first fault stops everything
/// (queueing and the other workers), keeping the fault and the item it happened on for the summary.
/// </summary>
internal static class ParallelTransfer
{
    /// <summary>The first fault of a run and the key of the item it happened on.</summary>
    public sealed record Fault(Exception Error, string Key);

    /// <summary>Runs <paramref name="transferAsync"/> on every item; null when all finished, else the first fault.
    /// Cancellation by <paramref name="cancellationToken"/> ends the run early without a fault of its own.</summary>
    public static async Task<Fault?> RunAsync<T>(IReadOnlyList<T> items, int concurrency, ProgressDisplay progress, Func<T, string> keyOf,
        Func<T, CancellationToken, Task> transferAsync, CancellationToken cancellationToken)
    {
        Fault? fault = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var queue = Channel.CreateBounded<T>(concurrency * 4);

        async Task WorkAsync()
        {
            await foreach (var item in queue.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await transferAsync(item, stop.Token).ConfigureAwait(false);
                    progress.Advance();
                }
                catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && stop.IsCancellationRequested))
                {
                    Interlocked.CompareExchange(ref fault, new Fault(e, keyOf(item)), null);
                    await stop.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }

        await progress.RunAsync(items.Count, async () =>
        {
            var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkAsync, CancellationToken.None)).ToList();
            try
            {
                foreach (var item in items)
                {
                    await queue.Writer.WriteAsync(item, stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // A worker failed (or the user cancelled): stop queueing.
            }
            queue.Writer.TryComplete();
            try
            {
                await Task.WhenAll(workers).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            return 0;
        }).ConfigureAwait(false);
        return Volatile.Read(ref fault);
    }
}
