using System.CommandLine;
using Memo.Cli.Input;
using Memo.Protocol.Client;

namespace Memo.Cli.Commands;

/// <summary><c>memo kv put &lt;key&gt; [value]</c>: stores a value from the argument, <c>--file</c>, or standard input.</summary>
internal sealed class KvPutCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public KvPutCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Key = KvCommand.KeyArgument();
        Value = new Argument<string?>("value")
        {
            Description = "The value as text (UTF-8); '-' or absent reads standard input unless --file is given",
            Arity = ArgumentArity.ZeroOrOne,
        };
        File = new Option<string?>("--file", "-f") { Description = "Read the value from this file ('-' for standard input)", HelpName = "path" };
        Mode = GlobalOptions.ChoiceOption("--mode", null, PutMode.Upsert,
            "upsert: create or replace; insert: fail if the key exists (exit 4); update: fail if it is missing (exit 3)");
        Consistency = new Option<string?>("--consistency")
        {
            Description = "majority: answered once a majority of the key's replicas hold the value; async: once the key shard's leader "
                + "holds it (faster; lost if that leader dies before replicating it; upsert only). Default: the node's memo.kvs.write-consistency",
            HelpName = "level",
        };
        Consistency.AcceptOnlyFromAmong("majority", "async");
        Command = new Command("put", "Store a value under a key") { Key, Value, File, Mode, Consistency };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>put</c> command.</summary>
    public Command Command { get; }

    /// <summary>The key.</summary>
    public Argument<string> Key { get; }

    /// <summary>The value given inline.</summary>
    public Argument<string?> Value { get; }

    /// <summary><c>--file</c>.</summary>
    public Option<string?> File { get; }

    /// <summary><c>--mode</c>.</summary>
    public Option<string> Mode { get; }

    /// <summary><c>--consistency</c>.</summary>
    public Option<string?> Consistency { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) =>
        new(_global.Bind(result), result.GetValue(Key)!, result.GetValue(Value), result.GetValue(File), GlobalOptions.Choice<PutMode>(result, Mode),
            result.GetValue(Consistency) switch
            {
                "majority" => WriteConsistencyLevel.Majority,
                "async" => WriteConsistencyLevel.Async,
                _ => null,
            });

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            if (settings.Consistency == WriteConsistencyLevel.Async && settings.Mode != PutMode.Upsert)
            {
                // The node would answer an insert or update at the commit anyway: its answer is the stored key's verdict.
                return reporter.Fail(ExitCodes.Usage, "--consistency async applies to upserts only (--mode insert and update wait for the majority)");
            }
            var source = ValueSource.Choose(settings.Value, settings.File, out var choiceError);
            if (source is null)
            {
                return reporter.Fail(ExitCodes.Usage, choiceError!);
            }
            var (value, readError) = await source.ReadAsync(_io, cancellationToken).ConfigureAwait(false);
            if (value is null)
            {
                return reporter.Fail(ExitCodes.Usage, readError!);
            }
            using var client = settings.Connection.Connect();
            switch (settings.Mode)
            {
                case PutMode.Insert when !await client.InsertAsync(settings.Key, value, cancellationToken).ConfigureAwait(false):
                    return reporter.Fail(ExitCodes.Conflict, $"key '{settings.Key}' already exists");
                case PutMode.Update when !await client.UpdateAsync(settings.Key, value, cancellationToken).ConfigureAwait(false):
                    return reporter.Fail(ExitCodes.NotFound, $"key '{settings.Key}' not found");
                case PutMode.Upsert:
                    await client.UpsertAsync(settings.Key, value, settings.Consistency, cancellationToken).ConfigureAwait(false);
                    break;
            }
            var mode = settings.Mode.ToString().ToLowerInvariant();
            if (settings.Connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("key", settings.Key);
                    w.WriteString("mode", mode);
                    w.WriteNumber("bytes", value.Length);
                    if (settings.Consistency is { } level)
                    {
                        w.WriteString("consistency", level.HeaderValue());
                    }
                }));
            }
            else
            {
                _io.WriteLine(settings.Consistency is { } level
                    ? $"stored {settings.Key} ({value.Length} bytes, {mode}, {level.HeaderValue()})"
                    : $"stored {settings.Key} ({value.Length} bytes, {mode})");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>kv put</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, string Key, string? Value, string? File, PutMode Mode,
        WriteConsistencyLevel? Consistency = null);
}
