using System.Diagnostics;
using Spectre.Console;

namespace Memo.Cli.Output;

/// <summary>
/// Progress of a long command: a Spectre.Console bar (count, percent, rate, time left) on an interactive terminal;
/// elsewhere (a pipe, a log, CI) one plain line on standard error at every tenth, so logs show the work moving
/// without a line per item; nothing with <c>--json</c>, whose output is only the final object. The work reports
/// through <see cref="Advance"/> (thread-safe: an interlocked add); the display polls it.
/// </summary>
internal sealed class ProgressDisplay
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(150);

    private readonly CliIo _io;
    private readonly bool _quiet;
    private readonly string _label;
    private readonly string _unit;
    private long _done;
    private long _total;

    public ProgressDisplay(CliIo io, bool quiet, string label, string unit)
    {
        _io = io;
        _quiet = quiet;
        _label = label;
        _unit = unit;
    }

    /// <summary>Items done so far.</summary>
    public long Done => Interlocked.Read(ref _done);

    /// <summary>Counts <paramref name="items"/> more done.</summary>
    public void Advance(long items = 1) => Interlocked.Add(ref _done, items);

    /// <summary>Runs <paramref name="work"/> for <paramref name="total"/> items while showing its progress.</summary>
    public async Task<T> RunAsync<T>(long total, Func<Task<T>> work)
    {
        Interlocked.Exchange(ref _total, total);
        if (_quiet || total <= 0)
        {
            return await work().ConfigureAwait(false);
        }
        if (_io.Console.Profile.Capabilities.Interactive)
        {
            return await _io.Console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(),
                    new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(_label, maxValue: total);
                    var running = work();
                    while (!running.IsCompleted)
                    {
                        task.Value = Done;
                        task.Description = $"{_label} {Done:N0}/{total:N0} {_unit}";
                        await Task.WhenAny(running, Task.Delay(Period)).ConfigureAwait(false);
                    }
                    task.Value = Done;
                    task.Description = $"{_label} {Done:N0}/{total:N0} {_unit}";
                    return await running.ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        return await PlainAsync(total, work).ConfigureAwait(false);
    }

    private async Task<T> PlainAsync<T>(long total, Func<Task<T>> work)
    {
        var watch = Stopwatch.StartNew();
        var running = work();
        var reportedTenth = 0L;
        while (true)
        {
            var finished = running.IsCompleted;
            if (finished && !running.IsCompletedSuccessfully)
            {
                return await running.ConfigureAwait(false); // the error is the command's to report, not a progress line
            }
            var done = Done;
            var tenth = Math.Min(10, done * 10 / total);
            if (tenth > reportedTenth)
            {
                reportedTenth = tenth;
                var rate = done / Math.Max(watch.Elapsed.TotalSeconds, 0.001);
                _io.Stderr.WriteLine($"{_label}: {done:N0}/{total:N0} {_unit} ({done * 100 / total}%, {rate:N0}/s)");
                _io.Stderr.Flush();
            }
            if (finished)
            {
                return await running.ConfigureAwait(false);
            }
            await Task.WhenAny(running, Task.Delay(Period)).ConfigureAwait(false);
        }
    }
}
