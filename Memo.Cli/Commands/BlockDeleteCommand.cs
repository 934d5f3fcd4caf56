using System.CommandLine;
using Memo.Protocol.Blocks;

namespace Memo.Cli.Commands;

/// <summary><c>memo block delete &lt;0xaddress&gt;</c>: removes a block the node owns (the node signs the removal).</summary>
internal sealed class BlockDeleteCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockDeleteCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Address = BlockCommand.AddressArgument();
        Command = new Command("delete", "Delete a block owned by the node (exit 3 when it does not exist)") { Address };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>delete</c> command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Address));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            using var client = settings.Connection.Connect();
            // Acting as a user (--as), the user's key signs the removal here; anonymously the node signs for blocks it owns.
            var removal = ReadOnlyMemory<byte>.Empty;
            if (client.Credentials is { } user)
            {
                var stored = await client.FetchBlockAsync(settings.Address, cancellationToken).ConfigureAwait(false);
                if (stored is null)
                {
                    return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
                }
                if (!user.Key.PublicKey.Matches(stored.GetOwnerSpki().Span))
                {
                    return reporter.Fail(ExitCodes.Rejected, $"block {settings.Address} is not owned by {settings.Connection.As}");
                }
                removal = Memo.Protocol.Blocks.BlockFactory.RemovalSignature(stored, user.Key);
            }
            if (!await client.DeleteBlockAsync(settings.Address, removal, cancellationToken).ConfigureAwait(false))
            {
                return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
            }
            if (settings.Connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("address", settings.Address.ToString());
                    w.WriteBoolean("deleted", true);
                }));
            }
            else
            {
                _io.WriteLine($"deleted {settings.Address}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>block delete</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address);
}
