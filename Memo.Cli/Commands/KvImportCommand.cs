using System.CommandLine;
using System.Diagnostics;
using Memo.Cli.Output;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo kv import &lt;folder&gt;</c>: every file under the folder becomes one key (its relative path after
/// <c>--prefix</c>, see <see cref="KvTransfer"/>) holding the file's bytes, written by <c>--concurrency</c> calls at
/// once over one channel, with progress while it runs and a summary at the end. The first fault (node unreachable,
/// a refused key) stops the import; what was written stays, and the summary says how far it got.
/// </summary>
internal sealed class KvImportCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public KvImportCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Folder = new Argument<string>("folder") { Description = "The folder to import (recursively)" };
        Prefix = new Option<string>("--prefix") { Description = "Text put before every key", DefaultValueFactory = _ => "" };
        Concurrency = GlobalOptions.NumberOption("--concurrency", "-c", 16, 1, 1024, "Writes in flight at once");
        Mode = GlobalOptions.ChoiceOption("--mode", null, PutMode.Upsert, "upsert replaces existing keys, insert leaves them as they are (counted as skipped)");
        Command = new Command("import", "Store every file of a folder as a key (its relative path), with progress and a summary")
        {
            Folder, Prefix, Concurrency, Mode,
        };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>import</c> command.</summary>
    public Command Command { get; }

    /// <summary>The folder.</summary>
    public Argument<string> Folder { get; }

    /// <summary><c>--prefix</c>.</summary>
    public Option<string> Prefix { get; }

    /// <summary><c>--concurrency</c>.</summary>
    public Option<int> Concurrency { get; }

    /// <summary><c>--mode</c>.</summary>
    public Option<string> Mode { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Folder)!, result.GetValue(Prefix) ?? "",
        result.GetValue(Concurrency), GlobalOptions.Choice<PutMode>(result, Mode));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            if (settings.Mode == PutMode.Update)
            {
                return reporter.Fail(ExitCodes.Usage, "kv import takes --mode upsert or insert");
            }
            if (!Directory.Exists(settings.Folder))
            {
                return reporter.Fail(ExitCodes.Usage, $"{settings.Folder} is not a folder");
            }
            var files = Directory.EnumerateFiles(settings.Folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Order(StringComparer.Ordinal).ToList();
            var progress = new ProgressDisplay(_io, settings.Connection.Json, "import", "files");
            var watch = Stopwatch.StartNew();
            long bytes = 0;
            long skipped = 0;
            using var client = settings.Connection.Connect();
            var fault = await ParallelTransfer.RunAsync(files, settings.Concurrency, progress, file => KvTransfer.KeyOf(settings.Folder, file, settings.Prefix),
                async (file, token) =>
                {
                    var key = KvTransfer.KeyOf(settings.Folder, file, settings.Prefix);
                    var value = await File.ReadAllBytesAsync(file, token).ConfigureAwait(false);
                    if (settings.Mode == PutMode.Insert)
                    {
                        if (!await client.InsertAsync(key, value, token).ConfigureAwait(false))
                        {
                            Interlocked.Increment(ref skipped);
                        }
                    }
                    else
                    {
                        await client.UpsertAsync(key, value, token).ConfigureAwait(false);
                    }
                    Interlocked.Add(ref bytes, value.Length);
                }, cancellationToken).ConfigureAwait(false);

            var seconds = watch.Elapsed.TotalSeconds;
            var imported = progress.Done - Interlocked.Read(ref skipped);
            var failure = fault is null ? null : Errors.FromException(fault.Error, settings.Connection.Node, settings.Connection.Timeout, cancellationToken.IsCancellationRequested);
            if (settings.Connection.Json)
            {
                _io.WriteLine(Json.Write(w =>
                {
                    w.WriteString("folder", settings.Folder);
                    w.WriteNumber("files", files.Count);
                    w.WriteNumber("imported", imported);
                    w.WriteNumber("skipped", Interlocked.Read(ref skipped));
                    w.WriteNumber("bytes", Interlocked.Read(ref bytes));
                    w.WriteNumber("seconds", Math.Round(seconds, 3));
                    if (failure is not null)
                    {
                        w.WriteString("stoppedAt", fault!.Key);
                    }
                }));
            }
            else
            {
                var skippedText = settings.Mode == PutMode.Insert ? $", {Interlocked.Read(ref skipped):N0} already there (left as they were)" : "";
                _io.WriteLine($"imported {imported:N0} of {files.Count:N0} files ({KvTransfer.Bytes(Interlocked.Read(ref bytes))}) from {settings.Folder} " +
                              $"in {seconds:F1} s ({imported / Math.Max(seconds, 0.001):N0} keys/s){skippedText}");
            }
            return failure is null ? ExitCodes.Ok : reporter.Fail(failure with { Message = $"stopped at key '{fault!.Key}': {failure.Message}" });
        }, cancellationToken);

    /// <summary>What <c>kv import</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, string Folder, string Prefix, int Concurrency, PutMode Mode);
}
