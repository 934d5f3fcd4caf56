using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary><c>memo kv delete &lt;key&gt;</c>.</summary>
internal sealed class KvDeleteCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public KvDeleteCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Key = KvCommand.KeyArgument();
        Command = new Command("delete", "Delete a key (exit 3 when it does not exist)") { Key };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>delete</c> command.</summary>
    public Command Command { get; }

    /// <summary>The key.</summary>
    public Argument<string> Key { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Key)!);

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            using var client = settings.Connection.Connect();
            if (!await client.DeleteAsync(settings.Key, cancellationToken).ConfigureAwait(false))
            {
                return reporter.Fail(ExitCodes.NotFound, $"key '{settings.Key}' not found");
            }
            if (settings.Connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("key", settings.Key);
                    w.WriteBoolean("deleted", true);
                }));
            }
            else
            {
                _io.WriteLine($"deleted {settings.Key}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>kv delete</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, string Key);
}
