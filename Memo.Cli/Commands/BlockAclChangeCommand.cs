using System.CommandLine;
using Memo.Cli.Input;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block acl add &lt;0xaddress&gt; --key OWNER (--user FILE [--read] [--write] | --group 0x…)</c> and
/// <c>memo block acl remove &lt;0xaddress&gt; --key OWNER (--user FILE | --group 0x…)</c>: the owner changes the ACB's
/// ACL. The owner's key decrypts the data, signs the new ACL (ACL version + 1) and seals the data again for the new
/// readers, and the next version is stored (a concurrent writer makes it exit 4).
/// </summary>
internal sealed class BlockAclChangeCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockAclChangeCommand(GlobalOptions global, CliIo io, bool add)
    {
        _global = global;
        _io = io;
        IsAdd = add;
        Address = BlockCommand.AddressArgument();
        Key = BlockCommand.KeyOption("The owner's private key file (PEM); required");
        User = new Option<string?>("--user") { Description = "The user's public key file (PEM PUBLIC KEY, or a private key file)", HelpName = "file" };
        Group = new Option<string?>("--group") { Description = "A group block's address (its members read)", HelpName = "0xaddress" };
        Read = new Option<bool>("--read") { Description = "The user may read (the default when neither --read nor --write is given)" };
        Write = new Option<bool>("--write") { Description = "The user may write" };
        Command = add
            ? new Command("add", "Grant a user read and/or write, or a group read, on an ACB (as its owner)") { Address, Key, User, Group, Read, Write }
            : new Command("remove", "Take a user's or a group's rights on an ACB away (as its owner); the next version is sealed without them") { Address, Key, User, Group };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>True for <c>acl add</c>.</summary>
    public bool IsAdd { get; }

    /// <summary>The command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary><c>--key</c>.</summary>
    public Option<string?> Key { get; }

    /// <summary><c>--user</c>.</summary>
    public Option<string?> User { get; }

    /// <summary><c>--group</c>.</summary>
    public Option<string?> Group { get; }

    /// <summary><c>--read</c>.</summary>
    public Option<bool> Read { get; }

    /// <summary><c>--write</c>.</summary>
    public Option<bool> Write { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(
        _global.Bind(result), result.GetValue(Address), result.GetValue(Key), result.GetValue(User), result.GetValue(Group),
        result.GetValue(Read), result.GetValue(Write));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            var verb = IsAdd ? "add" : "remove";
            if (settings.Key is null)
            {
                return reporter.Fail(ExitCodes.Usage, $"acl {verb} needs --key: the owner's private key file");
            }
            if ((settings.User is null) == (settings.Group is null))
            {
                return reporter.Fail(ExitCodes.Usage, $"acl {verb} needs one of --user FILE and --group 0xaddress");
            }
            BlockAddress group = default;
            if (settings.Group is not null)
            {
                if (!BlockCommand.TryParseGroups([settings.Group], out var parsed, out var problem))
                {
                    return reporter.Fail(ExitCodes.Usage, problem!);
                }
                group = parsed[0];
            }
            using var owner = UserKeyFiles.LoadKeyPair(settings.Key, _io.GetEnvironmentVariable);
            var user = settings.User is null ? null : UserKeyFiles.LoadPublicKey(settings.User, _io.GetEnvironmentVariable);
            var read = settings.Read || !settings.Write;
            Func<AccessList, AccessList> change;
            if (user is not null)
            {
                change = IsAdd ? acl => acl.With(new AclGrant(user, read, settings.Write)) : acl => acl.Without(user);
            }
            else
            {
                change = IsAdd ? acl => acl.WithGroup(group) : acl => acl.WithoutGroup(group);
            }
            BlockUpdateResult? outcome;
            try
            {
                using var client = settings.Connection.Connect();
                outcome = await client.ChangeAclAsync(settings.Address, owner, change, cancellationToken).ConfigureAwait(false);
                if (outcome is null)
                {
                    return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
                }
                if (outcome is BlockUpdateResult.Conflict conflict)
                {
                    return reporter.Fail(new Output.Failure(ExitCodes.Conflict,
                        $"block {settings.Address} changed meanwhile (now version {conflict.Current.Version}); run the command again", null));
                }
                var after = await client.FetchBlockAsync(settings.Address, cancellationToken).ConfigureAwait(false);
                var subject = user?.ToString() ?? "group " + group;
                if (settings.Connection.Json)
                {
                    _io.WriteLine(Output.Json.Write(w =>
                    {
                        w.WriteString("address", settings.Address.ToString());
                        w.WriteNumber("version", after?.Version ?? -1);
                        w.WriteNumber("aclVersion", after?.AclVersion ?? -1);
                    }));
                }
                else
                {
                    _io.WriteLine(IsAdd
                        ? $"{settings.Address}: {subject} may {(user is null ? "read" : Rights(read, settings.Write))} (ACL version {after?.AclVersion})"
                        : $"{settings.Address}: {subject} removed (ACL version {after?.AclVersion})");
                }
                return ExitCodes.Ok;
            }
            catch (ArgumentException e)
            {
                return reporter.Fail(ExitCodes.Rejected, Output.Errors.Describe(e));
            }
        }, cancellationToken);

    private static string Rights(bool read, bool write) => (read, write) switch
    {
        (true, true) => "read and write",
        (true, false) => "read",
        _ => "write",
    };

    /// <summary>What <c>block acl add</c> or <c>remove</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address, string? Key, string? User, string? Group, bool Read, bool Write);
}
