using System.CommandLine;
using Google.Protobuf;
using Memo.Cli.Input;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.ValueStore;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block update &lt;0xaddress&gt; [data]</c>: replaces a mutable block's data with a new version. The command
/// fetches the block and sends it back with the new data, version + 1 and no signature; the node signs blocks it owns.
/// Losing a version race to another writer is exit 4, with the stored version in the message. An access-controlled
/// block (ACB) is written as <c>--key</c>'s user (its owner, an ACL writer, or anyone when world-writable), who signs
/// the data sealed for the block's readers; the node signs nothing.
/// </summary>
internal sealed class BlockUpdateCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockUpdateCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Address = BlockCommand.AddressArgument();
        Data = BlockCommand.DataArgument();
        File = BlockCommand.FileOption();
        Key = BlockCommand.KeyOption("For an ACB: the private key file (PEM) of its owner or a writer");
        Command = new Command("update", "Store new data as the next version of a mutable block owned by the node (or of an ACB, as --key's user)") { Address, Data, File, Key };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>update</c> command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary>The data given inline.</summary>
    public Argument<string?> Data { get; }

    /// <summary><c>--file</c>.</summary>
    public Option<string?> File { get; }

    /// <summary><c>--key</c>.</summary>
    public Option<string?> Key { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Address), result.GetValue(Data), result.GetValue(File), result.GetValue(Key));

    /// <summary>
    /// The block to send: <paramref name="current"/> with <paramref name="data"/>, the next version, and an empty
    /// signature so the owning node re-signs it. Everything else (owner key, salt, address) is kept, since the
    /// address of a mutable block derives from its owner and salt.
    /// </summary>
    public static Block NextVersion(Block current, ReadOnlySpan<byte> data)
    {
        var next = current.Clone();
        next.Data = ByteString.CopyFrom(data);
        next.Version = checked(current.Version + 1);
        next.Signature = ByteString.Empty;
        return next;
    }

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            if (settings.Address.IsImmutable)
            {
                return reporter.Fail(ExitCodes.Rejected, $"block {settings.Address} is immutable (its address ends in an odd byte); only mutable blocks have versions");
            }
            var source = ValueSource.Choose(settings.Data, settings.File, out var choiceError);
            if (source is null)
            {
                return reporter.Fail(ExitCodes.Usage, choiceError!);
            }
            var (data, readError) = await source.ReadAsync(_io, cancellationToken).ConfigureAwait(false);
            if (data is null)
            {
                return reporter.Fail(ExitCodes.Usage, readError!);
            }
            using var client = settings.Connection.Connect();
            var current = await client.FetchBlockAsync(settings.Address, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
            }
            Block next;
            if (current.Type == BlockKinds.AclType)
            {
                if (settings.Key is null)
                {
                    return reporter.Fail(ExitCodes.Usage, $"block {settings.Address} is an ACB: pass --key with the private key file of its owner or a writer");
                }
                using var editor = UserKeyFiles.LoadKeyPair(settings.Key, _io.GetEnvironmentVariable);
                var groups = new Dictionary<BlockAddress, Block>();
                foreach (var address in AclBlocks.GroupsOf(current))
                {
                    if (await client.FetchBlockAsync(address, cancellationToken).ConfigureAwait(false) is { } group)
                    {
                        groups[address] = group;
                    }
                }
                try
                {
                    next = AclBlocks.Edit(current, editor, data, groups);
                }
                catch (ArgumentException e)
                {
                    return reporter.Fail(ExitCodes.Rejected, Output.Errors.Describe(e));
                }
            }
            else
            {
                // Acting as a user (--as), the user's key signs the next version here: the node signs nothing for an authenticated user.
                if (client.Credentials is { } user && !user.Key.PublicKey.Matches(current.OwnerKey.Span))
                {
                    return reporter.Fail(ExitCodes.Rejected, $"block {settings.Address} is not owned by {settings.Connection.As}");
                }
                next = client.Credentials is { } owner ? BlockFactory.NextVersion(current, data, owner.Key) : NextVersion(current, data);
            }
            var outcome = await client.UpdateBlockAsync(next, cancellationToken).ConfigureAwait(false);
            if (outcome is BlockUpdateResult.Conflict conflict)
            {
                return reporter.Fail(new Output.Failure(
                    ExitCodes.Conflict,
                    $"block {settings.Address} changed meanwhile: the stored version is {conflict.Current.Version}, this update was version {next.Version}",
                    null));
            }
            if (settings.Connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("address", settings.Address.ToString());
                    w.WriteNumber("version", next.Version);
                    w.WriteNumber("bytes", data.Length);
                }));
            }
            else
            {
                _io.WriteLine($"updated {settings.Address} to version {next.Version}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>block update</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address, string? Data, string? File, string? Key = null);
}
