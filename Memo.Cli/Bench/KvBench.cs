using System.Diagnostics;

namespace Memo.Cli.Bench;

/// <summary>
/// A closed-loop load generator: <c>Concurrency</c> workers each issue one operation, wait for its answer, and
/// issue the next, for warm-up + duration. Only operations that start after the warm-up are measured.
/// </summary>
/// <remarks>
/// Each worker owns its histogram, counters and random generator, so the hot path takes no lock and shares no
/// cache line; the histograms are merged once every worker has stopped. Latency is measured with
/// <see cref="Stopwatch"/> around the awaited call, so it includes the client's own encoding and scheduling, the
/// same for every target.
/// </remarks>
internal static class KvBench
{
    /// <summary>Runs the benchmark; throws the first failure of the probe or of populating the key space.</summary>
    public static async Task<KvBenchResult> RunAsync(KvBenchSettings settings, IKvBenchTarget target, CancellationToken cancellationToken)
    {
        // A first call on its own: an unreachable store fails here, with its real error, instead of as N million errors.
        await target.PutAsync(0, cancellationToken).ConfigureAwait(false);
        if (settings.NeedsPopulatedKeys)
        {
            await PopulateAsync(target, settings.Keys, Math.Max(settings.Concurrency, 16), cancellationToken).ConfigureAwait(false);
        }

        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + ToTicks(settings.Warmup);
        var stopAt = measureFrom + ToTicks(settings.Duration);
        var workers = new Task<Worker>[settings.Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            var worker = new Worker(settings, target, settings.Seed + i);
            workers[i] = Task.Run(() => worker.RunAsync(measureFrom, stopAt, cancellationToken), cancellationToken);
        }
        var finished = await Task.WhenAll(workers).ConfigureAwait(false);

        var readLatency = new LatencyHistogram();
        var writeLatency = new LatencyHistogram();
        long reads = 0, writes = 0, errors = 0, lastCompletion = measureFrom;
        Exception? firstError = null;
        foreach (var w in finished)
        {
            if (w.ReadLatency is { } r)
            {
                readLatency.Merge(r);
            }
            if (w.WriteLatency is { } wr)
            {
                writeLatency.Merge(wr);
            }
            reads += w.Reads;
            writes += w.Writes;
            errors += w.Errors;
            lastCompletion = Math.Max(lastCompletion, w.LastCompletion);
            firstError ??= w.FirstError;
        }
        var latency = new LatencyHistogram();
        latency.Merge(readLatency);
        latency.Merge(writeLatency);
        var elapsed = Stopwatch.GetElapsedTime(measureFrom, Math.Max(lastCompletion, stopAt));
        return new KvBenchResult(reads + writes, reads, writes, errors, elapsed, latency, readLatency, writeLatency, firstError);
    }

    /// <summary>Writes every key of the key space once, with <paramref name="parallelism"/> calls in flight.</summary>
    public static async Task PopulateAsync(IKvBenchTarget target, int keys, int parallelism, CancellationToken cancellationToken)
    {
        var next = -1;
        async Task FillAsync()
        {
            int key;
            while ((key = Interlocked.Increment(ref next)) < keys)
            {
                await target.PutAsync(key, cancellationToken).ConfigureAwait(false);
            }
        }
        var fillers = new Task[Math.Min(parallelism, keys)];
        for (var i = 0; i < fillers.Length; i++)
        {
            fillers[i] = Task.Run(FillAsync, cancellationToken);
        }
        await Task.WhenAll(fillers).ConfigureAwait(false);
    }

    private static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private sealed class Worker(KvBenchSettings settings, IKvBenchTarget target, int seed)
    {
        private readonly Random _random = new(seed);

        // One histogram per kind, created at the first operation of that kind: a histogram is ~36 KB, and a put or
        // get run at thousands of workers should not carry an empty one for the kind it never does.
        public LatencyHistogram? ReadLatency { get; private set; }
        public LatencyHistogram? WriteLatency { get; private set; }
        public long Reads { get; private set; }
        public long Writes { get; private set; }
        public long Errors { get; private set; }
        public long LastCompletion { get; private set; }
        public Exception? FirstError { get; private set; }

        public async Task<Worker> RunAsync(long measureFrom, long stopAt, CancellationToken cancellationToken)
        {
            var keys = settings.Keys;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var key = _random.Next(keys);
                var read = settings.Workload switch
                {
                    BenchWorkload.Get => true,
                    BenchWorkload.Mixed => _random.NextDouble() < settings.ReadRatio,
                    _ => false,
                };
                var began = Stopwatch.GetTimestamp();
                if (began >= stopAt)
                {
                    return this;
                }
                Exception? error = null;
                try
                {
                    if (read)
                    {
                        if (!await target.GetAsync(key, cancellationToken).ConfigureAwait(false))
                        {
                            error = new MissingKeyException(BenchKeys.Name(key));
                        }
                    }
                    else
                    {
                        await target.PutAsync(key, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    error = e;
                }
                var ended = Stopwatch.GetTimestamp();
                if (began < measureFrom)
                {
                    continue;
                }
                LastCompletion = ended;
                if (error is not null)
                {
                    Errors++;
                    FirstError ??= error;
                    continue;
                }
                var micros = (long)Stopwatch.GetElapsedTime(began, ended).TotalMicroseconds;
                if (read)
                {
                    (ReadLatency ??= new LatencyHistogram()).Record(micros);
                    Reads++;
                }
                else
                {
                    (WriteLatency ??= new LatencyHistogram()).Record(micros);
                    Writes++;
                }
            }
        }
    }
}
