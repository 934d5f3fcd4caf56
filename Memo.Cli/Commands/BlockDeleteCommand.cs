using System.CommandLine;
using Memo.Cli.Input;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block delete &lt;0xaddress&gt; [--key FILE]</c>: removes a block the node owns (the node signs the removal), or
/// with <c>--key</c> a block that key owns: the key signs the removal, and an ACB gets its owner's tombstone (the next
/// version, deleted), the only way an ACB is removed.
/// </summary>
internal sealed class BlockDeleteCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockDeleteCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Address = BlockCommand.AddressArgument();
        Key = BlockCommand.KeyOption("The owner's private key file (PEM), for a block the node does not own (an ACB is then tombstoned)");
        Command = new Command("delete", "Delete a block owned by the node, or by --key's user (exit 3 when it does not exist)") { Address, Key };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>delete</c> command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary><c>--key</c>.</summary>
    public Option<string?> Key { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Address), result.GetValue(Key));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            using var client = settings.Connection.Connect();
            if (settings.Key is not null)
            {
                // A key file (an ACB's owner, or a block owner's PEM): the removal is signed here with it.
                using var owner = UserKeyFiles.LoadKeyPair(settings.Key, _io.GetEnvironmentVariable);
                var stored = await client.FetchBlockAsync(settings.Address, cancellationToken).ConfigureAwait(false);
                if (stored is null)
                {
                    return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
                }
                try
                {
                    if (stored.Type == BlockKinds.AclType)
                    {
                        if (await client.RemoveAclBlockAsync(settings.Address, owner, cancellationToken).ConfigureAwait(false) is BlockUpdateResult.Conflict conflict)
                        {
                            return reporter.Fail(new Output.Failure(ExitCodes.Conflict, $"block {settings.Address} changed meanwhile (now version {conflict.Current.Version}); run the command again", null));
                        }
                    }
                    else if (!await client.DeleteBlockAsync(settings.Address, BlockFactory.RemovalSignature(stored, owner), cancellationToken).ConfigureAwait(false))
                    {
                        return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
                    }
                }
                catch (ArgumentException e)
                {
                    return reporter.Fail(ExitCodes.Rejected, Output.Errors.Describe(e));
                }
            }
            else
            {
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
                    removal = BlockFactory.RemovalSignature(stored, user.Key);
                }
                if (!await client.DeleteBlockAsync(settings.Address, removal, cancellationToken).ConfigureAwait(false))
                {
                    return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
                }
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
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address, string? Key = null);
}
