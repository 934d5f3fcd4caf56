using System.CommandLine;
using Memo.Protocol.Blocks;

namespace Memo.Cli.Commands;

/// <summary><c>memo block versions &lt;0xaddress&gt;</c>: the versions of a mutable block the network keeps
/// (<c>memo.network.versions</c>), newest first, one per line; <c>--json</c>: <c>{"address", "current", "versions": [...]}</c>.</summary>
internal sealed class BlockVersionsCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockVersionsCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Address = BlockCommand.AddressArgument();
        Command = new Command("versions",
            "List the kept versions of a mutable block, newest (current) first; read one with block get --version (exit 3 when the block does not exist)") { Address };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>versions</c> command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Address));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            IReadOnlyList<long>? versions;
            using (var client = settings.Connection.Connect())
            {
                versions = await client.ListBlockVersionsAsync(settings.Address, cancellationToken).ConfigureAwait(false);
            }
            if (versions is null)
            {
                return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
            }
            Output.VersionList.Print(_io, settings.Connection.Json, "address", settings.Address.ToString(), versions);
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>block versions</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address);
}
