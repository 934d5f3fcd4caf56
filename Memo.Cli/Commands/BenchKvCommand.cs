using System.CommandLine;
using System.Globalization;
using Memo.Cli.Bench;
using Memo.Cli.Input;
using Memo.Cli.Output;
using Memo.Protocol.Client;
using Spectre.Console;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo bench kv</c>: a closed-loop put/get/mixed load against a Memo node or an etcd member, reporting ops/s,
/// errors and latency percentiles (for a mixed load also per kind: reads and writes). Both targets run through the
/// same client: a generated Grpc.Net.Client stub on a channel from <see cref="MemoChannel.Create"/> with
/// <see cref="ConnectionSettings.ChannelOptions"/>, so the ratio between them measures the stores, not the clients.
/// </summary>
internal sealed class BenchKvCommand
{
    /// <summary>Where an etcd member listens for clients unless <c>--node</c> says otherwise.</summary>
    public const string DefaultEtcdEndpoint = "127.0.0.1:2379";

    /// <summary>How long a run measures unless <c>--duration</c> says otherwise.</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(10);

    /// <summary>How long a run warms up unless <c>--warmup</c> says otherwise.</summary>
    public static readonly TimeSpan DefaultWarmup = TimeSpan.FromSeconds(2);

    /// <summary>Share of reads in a mixed run unless <c>--read-ratio</c> says otherwise.</summary>
    public const double DefaultReadRatio = 0.5;

    /// <summary>Most workers a run may have.</summary>
    public const int MaxConcurrency = 4096;

    /// <summary>Largest value a run may write.</summary>
    public const int MaxValueSize = Memo.Protocol.Blocks.BlockLimits.MaxDataBytes;

    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BenchKvCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Concurrency = GlobalOptions.NumberOption("--concurrency", "-c", 1, 1, MaxConcurrency, "Workers, each with one call in flight");
        Duration = GlobalOptions.DurationOption("--duration", DefaultDuration, "How long to measure");
        Warmup = GlobalOptions.DurationOption("--warmup", DefaultWarmup, "How long to run before measuring (0 for none)", allowZero: true);
        ValueSize = GlobalOptions.NumberOption("--value-size", null, 256, 0, MaxValueSize, "Bytes per value written");
        Keys = GlobalOptions.NumberOption("--keys", null, 10_000, 1, BenchKeys.MaxKeys, "Size of the key space (keys are chosen uniformly)");
        Workload = GlobalOptions.ChoiceOption("--workload", "-w", BenchWorkload.Put,
            "put, get, or mixed (each operation a get with probability --read-ratio, else a put); get and mixed write the key space first");
        ReadRatio = GlobalOptions.NumberOption("--read-ratio", null, DefaultReadRatio, 0.0, 1.0, "Probability that an operation of a mixed workload is a get");
        Target = GlobalOptions.ChoiceOption("--target", "-t", BenchTargetKind.Memo,
            $"memo: a Memo node (--node default {GlobalOptions.DefaultNode}); etcd: an etcd 3.4+ member (--node default {DefaultEtcdEndpoint})");
        Seed = new Option<int>("--seed") { Description = "Seed of the key choice and the value bytes", DefaultValueFactory = _ => 1 };
        WriteConsistency = new Option<string?>("--write-consistency") { Description = "memo only: majority or async, sent with every put (default: the node's)" };
        ReadConsistency = new Option<string?>("--read-consistency") { Description = "memo only: linearizable or stale, sent with every get (default: the node's)" };
        WriteConsistency.AcceptOnlyFromAmong("majority", "async");
        ReadConsistency.AcceptOnlyFromAmong("linearizable", "stale");
        Command = new Command("kv", "Closed-loop load on a key-value store: prints ops/s, errors and latency p50/p90/p99/p99.9/max")
        {
            Concurrency, Duration, Warmup, ValueSize, Keys, Workload, ReadRatio, Target, Seed, WriteConsistency, ReadConsistency,
        };
        // A ratio given to a put or get run would be silently ignored, and the report would not be the mix asked for.
        Command.Validators.Add(result =>
        {
            if (result.GetResult(ReadRatio) is { Implicit: false }
                && !string.Equals(result.GetValue(Workload), nameof(BenchWorkload.Mixed), StringComparison.OrdinalIgnoreCase))
            {
                result.AddError($"--read-ratio applies to --workload mixed only, not '{result.GetValue(Workload)}'");
            }
        });
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>bench kv</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>--concurrency</c>.</summary>
    public Option<int> Concurrency { get; }

    /// <summary><c>--duration</c>.</summary>
    public Option<TimeSpan?> Duration { get; }

    /// <summary><c>--warmup</c>.</summary>
    public Option<TimeSpan?> Warmup { get; }

    /// <summary><c>--value-size</c>.</summary>
    public Option<int> ValueSize { get; }

    /// <summary><c>--keys</c>.</summary>
    public Option<int> Keys { get; }

    /// <summary><c>--workload</c>.</summary>
    public Option<string> Workload { get; }

    /// <summary><c>--read-ratio</c>.</summary>
    public Option<double> ReadRatio { get; }

    /// <summary><c>--target</c>.</summary>
    public Option<string> Target { get; }

    /// <summary><c>--seed</c>.</summary>
    public Option<int> Seed { get; }

    /// <summary><c>--write-consistency</c>.</summary>
    public Option<string?> WriteConsistency { get; }

    /// <summary><c>--read-consistency</c>.</summary>
    public Option<string?> ReadConsistency { get; }

    /// <summary>Reads the run's settings and output mode from a parse result.</summary>
    public (KvBenchSettings Settings, ConnectionSettings Connection) Bind(ParseResult result)
    {
        var connection = _global.Bind(result);
        var target = GlobalOptions.Choice<BenchTargetKind>(result, Target);
        // --node defaults to the Memo node; for etcd an unset --node means etcd's own client port.
        var endpoint = target == BenchTargetKind.Etcd && !_global.NodeGiven(result) ? DefaultEtcdEndpoint : connection.Node;
        var settings = new KvBenchSettings(
            target,
            endpoint,
            GlobalOptions.Choice<BenchWorkload>(result, Workload),
            result.GetValue(Concurrency),
            result.GetValue(Duration) ?? DefaultDuration,
            result.GetValue(Warmup) ?? DefaultWarmup,
            result.GetValue(ValueSize),
            result.GetValue(Keys),
            result.GetValue(ReadRatio),
            connection.Timeout,
            result.GetValue(Seed),
            result.GetValue(WriteConsistency) is { } write ? Enum.Parse<Memo.Protocol.Client.WriteConsistencyLevel>(write, ignoreCase: true) : null,
            result.GetValue(ReadConsistency) is { } read ? Enum.Parse<Memo.Protocol.Client.ReadConsistencyLevel>(read, ignoreCase: true) : null);
        return (settings, connection with { Node = endpoint });
    }

    private Task<int> ExecuteAsync((KvBenchSettings Settings, ConnectionSettings Connection) bound, CancellationToken cancellationToken)
    {
        var (settings, connection) = bound;
        return CommandGuard.RunAsync(_io, connection, async reporter =>
        {
            if (settings.Target != BenchTargetKind.Memo && (settings.WriteConsistency is not null || settings.ReadConsistency is not null))
            {
                return reporter.Fail(ExitCodes.Usage, "--write-consistency and --read-consistency apply to --target memo only");
            }
            if (!connection.Json)
            {
                _io.WriteLine(Describe(settings));
            }
            KvBenchResult result;
            using (var channel = MemoChannel.Create(settings.Endpoint, ConnectionSettings.ChannelOptions))
            {
                var value = BenchKeys.Value(settings.ValueSize, settings.Seed);
                IKvBenchTarget target = settings.Target == BenchTargetKind.Etcd
                    ? new EtcdKvTarget(channel, settings.Timeout, settings.Keys, value)
                    : new MemoKvTarget(channel, settings.Timeout, settings.Keys, value, settings.WriteConsistency, settings.ReadConsistency);
                // Progress over time (warm-up and measurement, whole seconds), ticked beside the run.
                var seconds = (long)Math.Ceiling((settings.Warmup + settings.Duration).TotalSeconds);
                var progress = new ProgressDisplay(_io, connection.Json, "bench", "s");
                result = await progress.RunAsync(seconds, async () =>
                {
                    var run = KvBench.RunAsync(settings, target, cancellationToken);
                    while (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false) != run)
                    {
                        if (progress.Done < seconds)
                        {
                            progress.Advance();
                        }
                    }
                    var finished = await run.ConfigureAwait(false);
                    progress.Advance(seconds - progress.Done);
                    return finished;
                }).ConfigureAwait(false);
            }
            var firstError = result.FirstError is null ? null : Errors.FromException(result.FirstError, settings.Endpoint, settings.Timeout, cancelledByUser: false);
            if (connection.Json)
            {
                _io.WriteLine(Json.Write(w => WriteJson(w, settings, result, firstError)));
            }
            else
            {
                WriteHuman(result, firstError);
            }
            // A run where nothing succeeded measured nothing: exit with the reason, as a single call would.
            return result.Operations == 0 && firstError is not null ? firstError.ExitCode : ExitCodes.Ok;
        }, cancellationToken);
    }

    /// <summary>The one-line description of a run printed before it starts.</summary>
    public static string Describe(KvBenchSettings s)
    {
        var workload = s.Workload == BenchWorkload.Mixed
            ? $"mixed ({s.ReadRatio.ToString("0.##", CultureInfo.InvariantCulture)} reads)"
            : s.Workload.ToString().ToLowerInvariant();
        return $"bench kv: {s.Target.ToString().ToLowerInvariant()} at {s.Endpoint}, {workload}, concurrency {s.Concurrency}, " +
            $"{s.ValueSize}-byte values, {s.Keys} keys, {Input.Duration.Format(s.Duration)} after {Input.Duration.Format(s.Warmup)} warm-up"
            + (s.WriteConsistency is { } write ? $", {Memo.Protocol.Client.WriteConsistencyLevels.HeaderValue(write)} writes" : "")
            + (s.ReadConsistency is { } read ? $", {Memo.Protocol.Client.ReadConsistencyLevels.HeaderValue(read)} reads" : "");
    }

    /// <summary>
    /// The JSON report (one object): settings, counts, ops/s and latency percentiles in microseconds, for all
    /// operations and for reads and writes on their own (<c>readsPerSecond</c>, <c>readLatencyUs</c>, ...; zeros for
    /// a kind the run did not do).
    /// </summary>
    public static void WriteJson(System.Text.Json.Utf8JsonWriter w, KvBenchSettings s, KvBenchResult r, Failure? firstError)
    {
        w.WriteString("target", s.Target.ToString().ToLowerInvariant());
        w.WriteString("node", s.Endpoint);
        w.WriteString("workload", s.Workload.ToString().ToLowerInvariant());
        w.WriteNumber("concurrency", s.Concurrency);
        w.WriteNumber("valueSize", s.ValueSize);
        w.WriteNumber("keys", s.Keys);
        if (s.WriteConsistency is { } writeLevel)
        {
            w.WriteString("writeConsistency", Memo.Protocol.Client.WriteConsistencyLevels.HeaderValue(writeLevel));
        }
        if (s.ReadConsistency is { } readLevel)
        {
            w.WriteString("readConsistency", Memo.Protocol.Client.ReadConsistencyLevels.HeaderValue(readLevel));
        }
        w.WriteNumber("readRatio", s.Workload switch { BenchWorkload.Get => 1.0, BenchWorkload.Put => 0.0, _ => s.ReadRatio });
        w.WriteNumber("durationSeconds", s.Duration.TotalSeconds);
        w.WriteNumber("warmupSeconds", s.Warmup.TotalSeconds);
        w.WriteNumber("elapsedSeconds", Math.Round(r.Elapsed.TotalSeconds, 6));
        w.WriteNumber("ops", r.Operations);
        w.WriteNumber("reads", r.Reads);
        w.WriteNumber("writes", r.Writes);
        w.WriteNumber("errors", r.Errors);
        w.WriteNumber("opsPerSecond", Math.Round(r.OperationsPerSecond, 1));
        w.WriteNumber("readsPerSecond", Math.Round(r.ReadsPerSecond, 1));
        w.WriteNumber("writesPerSecond", Math.Round(r.WritesPerSecond, 1));
        WriteLatencyJson(w, "latencyUs", r.Latency);
        WriteLatencyJson(w, "readLatencyUs", r.ReadLatency);
        WriteLatencyJson(w, "writeLatencyUs", r.WriteLatency);
        if (firstError is null)
        {
            w.WriteNull("firstError");
        }
        else
        {
            w.WriteString("firstError", firstError.Message);
        }
    }

    private static void WriteLatencyJson(System.Text.Json.Utf8JsonWriter w, string name, LatencyHistogram latency)
    {
        w.WriteStartObject(name);
        foreach (var (percentileName, percentile) in Percentiles)
        {
            w.WriteNumber(percentileName, latency.ValueAtPercentile(percentile));
        }
        w.WriteNumber("min", latency.Min);
        w.WriteNumber("max", latency.Max);
        w.WriteNumber("mean", Math.Round(latency.Mean, 1));
        w.WriteEndObject();
    }

    private static readonly (string Name, double Percentile)[] Percentiles = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)];

    private void WriteHuman(KvBenchResult r, Failure? firstError)
    {
        var inv = CultureInfo.InvariantCulture;
        var summary = new Table().Border(TableBorder.Simple).HideHeaders().AddColumn("").AddColumn(new TableColumn("").RightAligned());
        var mixed = r.Reads > 0 && r.Writes > 0;
        summary.AddRow("ops/s", r.OperationsPerSecond.ToString("N1", inv)
            + (mixed ? $" ({r.ReadsPerSecond.ToString("N1", inv)} reads, {r.WritesPerSecond.ToString("N1", inv)} writes)" : ""));
        summary.AddRow("ops", r.Operations.ToString("N0", inv) + (mixed ? $" ({r.Reads.ToString("N0", inv)} reads, {r.Writes.ToString("N0", inv)} writes)" : ""));
        summary.AddRow(new Text("errors"), r.Errors == 0 ? new Text("0") : new Markup($"[red]{r.Errors.ToString("N0", inv)}[/]"));
        summary.AddRow("elapsed", r.Elapsed.TotalSeconds.ToString("0.000", inv) + " s");
        _io.Console.Write(summary);

        var latency = new Table().Border(TableBorder.Simple).Title("latency (µs)");
        // A mixed run gets a row per kind under the row of all operations; reads and writes differ by an fsync.
        if (mixed)
        {
            latency.AddColumn("");
        }
        foreach (var (name, _) in Percentiles)
        {
            latency.AddColumn(new TableColumn(name == "p999" ? "p99.9" : name).RightAligned());
        }
        latency.AddColumn(new TableColumn("max").RightAligned());
        latency.AddColumn(new TableColumn("mean").RightAligned());
        if (mixed)
        {
            latency.AddRow(["all", .. LatencyCells(r.Latency)]);
            latency.AddRow(["reads", .. LatencyCells(r.ReadLatency)]);
            latency.AddRow(["writes", .. LatencyCells(r.WriteLatency)]);
        }
        else
        {
            latency.AddRow(LatencyCells(r.Latency));
        }
        _io.Console.Write(latency);
        if (firstError is not null)
        {
            _io.WriteLine($"first error: {firstError.Message}");
        }
    }

    private static string[] LatencyCells(LatencyHistogram latency)
    {
        var inv = CultureInfo.InvariantCulture;
        return Percentiles.Select(p => latency.ValueAtPercentile(p.Percentile).ToString("N0", inv))
            .Append(latency.Max.ToString("N0", inv))
            .Append(latency.Mean.ToString("N1", inv))
            .ToArray();
    }
}
