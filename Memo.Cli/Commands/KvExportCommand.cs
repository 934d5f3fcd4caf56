using System.CommandLine;
using System.Diagnostics;
using Memo.Cli.Output;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo kv export &lt;folder&gt;</c>: lists every key under <c>--prefix</c>, then writes each one's value to a file
/// named by the key less the prefix (<see cref="KvTransfer"/>; <c>/</c> makes sub-folders), <c>--concurrency</c>
/// fetches at once, with progress and a summary. Keys that are not safe relative paths are skipped and counted; a key
/// deleted between the listing and its fetch is skipped too. The first fault stops the export.
/// </summary>
internal sealed class KvExportCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public KvExportCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Folder = new Argument<string>("folder") { Description = "The folder to write into (created when missing; existing files are replaced)" };
        Prefix = new Option<string>("--prefix") { Description = "Export only the keys starting with this text (left out of the file names)", DefaultValueFactory = _ => "" };
        Concurrency = GlobalOptions.NumberOption("--concurrency", "-c", 16, 1, 1024, "Fetches in flight at once");
        Command = new Command("export", "Write every key (under --prefix) to a file named by the key, with progress and a summary")
        {
            Folder, Prefix, Concurrency,
        };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>export</c> command.</summary>
    public Command Command { get; }

    /// <summary>The folder.</summary>
    public Argument<string> Folder { get; }

    /// <summary><c>--prefix</c>.</summary>
    public Option<string> Prefix { get; }

    /// <summary><c>--concurrency</c>.</summary>
    public Option<int> Concurrency { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Folder)!, result.GetValue(Prefix) ?? "", result.GetValue(Concurrency));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            var watch = Stopwatch.StartNew();
            using var client = settings.Connection.Connect();
            var keys = new List<string>();
            await foreach (var key in client.ListAllAsync(settings.Prefix, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                keys.Add(key);
            }
            Directory.CreateDirectory(settings.Folder);
            var progress = new ProgressDisplay(_io, settings.Connection.Json, "export", "keys");
            long bytes = 0;
            long unsafeKeys = 0;
            long vanished = 0;
            var fault = await ParallelTransfer.RunAsync(keys, settings.Concurrency, progress, key => key, async (key, token) =>
            {
                var path = KvTransfer.FileOf(settings.Folder, key, settings.Prefix);
                if (path is null)
                {
                    Interlocked.Increment(ref unsafeKeys);
                }
                else if (await client.FetchAsync(key, token).ConfigureAwait(false) is { } value)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllBytesAsync(path, value, token).ConfigureAwait(false);
                    Interlocked.Add(ref bytes, value.Length);
                }
                else
                {
                    Interlocked.Increment(ref vanished);
                }
            }, cancellationToken).ConfigureAwait(false);

            var seconds = watch.Elapsed.TotalSeconds;
            var written = progress.Done - Interlocked.Read(ref unsafeKeys) - Interlocked.Read(ref vanished);
            var failure = fault is null ? null : Errors.FromException(fault.Error, settings.Connection.Node, settings.Connection.Timeout, cancellationToken.IsCancellationRequested);
            if (settings.Connection.Json)
            {
                _io.WriteLine(Json.Write(w =>
                {
                    w.WriteString("folder", settings.Folder);
                    w.WriteNumber("keys", keys.Count);
                    w.WriteNumber("exported", written);
                    w.WriteNumber("skippedUnsafe", Interlocked.Read(ref unsafeKeys));
                    w.WriteNumber("skippedDeleted", Interlocked.Read(ref vanished));
                    w.WriteNumber("bytes", Interlocked.Read(ref bytes));
                    w.WriteNumber("seconds", Math.Round(seconds, 3));
                }));
            }
            else
            {
                var skipped = Interlocked.Read(ref unsafeKeys) + Interlocked.Read(ref vanished) is var n and > 0
                    ? $"; skipped {Interlocked.Read(ref unsafeKeys):N0} keys that are not safe file paths and {Interlocked.Read(ref vanished):N0} deleted meanwhile"
                    : "";
                _io.WriteLine($"exported {written:N0} of {keys.Count:N0} keys ({KvTransfer.Bytes(Interlocked.Read(ref bytes))}) to {settings.Folder} " +
                              $"in {seconds:F1} s ({written / Math.Max(seconds, 0.001):N0} keys/s){skipped}");
            }
            return failure is null ? ExitCodes.Ok : reporter.Fail(failure with { Message = $"stopped at key '{fault!.Key}': {failure.Message}" });
        }, cancellationToken);

    /// <summary>What <c>kv export</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, string Folder, string Prefix, int Concurrency);
}
