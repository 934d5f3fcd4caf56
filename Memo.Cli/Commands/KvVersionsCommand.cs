using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary><c>memo kv versions &lt;key&gt;</c>: the versions of a key the network keeps (<c>memo.network.versions</c>),
/// newest first, one per line; <c>--json</c>: <c>{"key", "current", "versions": [...]}</c>.</summary>
internal sealed class KvVersionsCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public KvVersionsCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Key = KvCommand.KeyArgument();
        Command = new Command("versions", "List the kept versions of a key, newest (current) first; read one with kv get --version (exit 3 when the key does not exist)") { Key };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>versions</c> command.</summary>
    public Command Command { get; }

    /// <summary>The key.</summary>
    public Argument<string> Key { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Key)!);

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            IReadOnlyList<ulong>? versions;
            using (var client = settings.Connection.Connect())
            {
                versions = await client.ListVersionsAsync(settings.Key, cancellationToken).ConfigureAwait(false);
            }
            if (versions is null)
            {
                return reporter.Fail(ExitCodes.NotFound, $"key '{settings.Key}' not found");
            }
            Output.VersionList.Print(_io, settings.Connection.Json, "key", settings.Key, versions);
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>kv versions</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, string Key);
}
