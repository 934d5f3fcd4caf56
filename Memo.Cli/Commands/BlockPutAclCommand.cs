using System.CommandLine;
using Memo.Cli.Input;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block put-acl [data] --key FILE [--reader FILE]... [--writer FILE]... [--group 0x…]... [--world-readable]
/// [--world-writable]</c>: creates an access-controlled block (ACB) owned by the key's user, its data encrypted for the
/// owner and the readers, and prints its address. The key signs (the owner's ACL, the data); the node signs nothing.
/// </summary>
internal sealed class BlockPutAclCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockPutAclCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Data = BlockCommand.DataArgument();
        File = BlockCommand.FileOption();
        Key = BlockCommand.KeyOption("The owner's private key file (PEM); required");
        Readers = BlockCommand.UsersOption("--reader", "A user who may read (public key file); repeatable");
        Writers = BlockCommand.UsersOption("--writer", "A user who may write, not read (public key file); repeatable");
        Groups = BlockCommand.GroupsOption("A group block whose members may read; repeatable");
        WorldReadable = new Option<bool>("--world-readable") { Description = "Anyone may read (the data is stored unencrypted)" };
        WorldWritable = new Option<bool>("--world-writable") { Description = "Anyone may write" };
        Command = new Command("put-acl", "Store data in a new access-controlled block (ACB) owned by --key's user; prints its address")
        {
            Data, File, Key, Readers, Writers, Groups, WorldReadable, WorldWritable,
        };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The command.</summary>
    public Command Command { get; }

    /// <summary>The data given inline.</summary>
    public Argument<string?> Data { get; }

    /// <summary><c>--file</c>.</summary>
    public Option<string?> File { get; }

    /// <summary><c>--key</c>.</summary>
    public Option<string?> Key { get; }

    /// <summary><c>--reader</c>.</summary>
    public Option<string[]> Readers { get; }

    /// <summary><c>--writer</c>.</summary>
    public Option<string[]> Writers { get; }

    /// <summary><c>--group</c>.</summary>
    public Option<string[]> Groups { get; }

    /// <summary><c>--world-readable</c>.</summary>
    public Option<bool> WorldReadable { get; }

    /// <summary><c>--world-writable</c>.</summary>
    public Option<bool> WorldWritable { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(
        _global.Bind(result), result.GetValue(Data), result.GetValue(File), result.GetValue(Key),
        result.GetValue(Readers) ?? [], result.GetValue(Writers) ?? [], result.GetValue(Groups) ?? [],
        result.GetValue(WorldReadable), result.GetValue(WorldWritable));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            if (settings.Key is null)
            {
                return reporter.Fail(ExitCodes.Usage, "put-acl needs --key: the owner's private key file");
            }
            if (!BlockCommand.TryParseGroups(settings.Groups, out var groups, out var groupProblem))
            {
                return reporter.Fail(ExitCodes.Usage, groupProblem!);
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
            using var owner = UserKeyFiles.LoadKeyPair(settings.Key, _io.GetEnvironmentVariable);
            var access = new AccessList([], groups, settings.WorldReadable, settings.WorldWritable);
            foreach (var path in settings.Readers)
            {
                access = access.With(new AclGrant(UserKeyFiles.LoadPublicKey(path, _io.GetEnvironmentVariable), Read: true, Write: settings.Writers.Contains(path)));
            }
            foreach (var path in settings.Writers.Except(settings.Readers))
            {
                access = access.With(new AclGrant(UserKeyFiles.LoadPublicKey(path, _io.GetEnvironmentVariable), Read: false, Write: true));
            }
            Protocol.ValueStore.Block block;
            try
            {
                using var client = settings.Connection.Connect();
                block = await client.CreateAclBlockAsync(owner, data, access, cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                return reporter.Fail(ExitCodes.Rejected, Output.Errors.Describe(e));
            }
            var address = block.GetAddress();
            _io.WriteLine(settings.Connection.Json
                ? Output.Json.Write(w =>
                {
                    w.WriteString("address", address.ToString());
                    w.WriteString("type", BlockKinds.AclType);
                    w.WriteNumber("version", block.Version);
                    w.WriteNumber("bytes", data.Length);
                })
                : address.ToString());
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>block put-acl</c> was asked to do.</summary>
    public sealed record Settings(
        ConnectionSettings Connection, string? Data, string? File, string? Key,
        IReadOnlyList<string> Readers, IReadOnlyList<string> Writers, IReadOnlyList<string> Groups, bool WorldReadable, bool WorldWritable);
}
