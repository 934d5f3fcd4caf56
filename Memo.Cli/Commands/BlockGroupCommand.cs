using System.CommandLine;
using Memo.Cli.Input;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.ValueStore;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block group create --key OWNER [--member FILE]...</c>, <c>group add|remove &lt;0xaddress&gt; --key OWNER
/// --member FILE</c> and <c>group show &lt;0xaddress&gt;</c>: group blocks (GB), whose members read the ACBs that name
/// the group. Removing a member makes a new generation of the group key; ACB versions written afterwards are sealed
/// for it, earlier ones stay readable by the removed member.
/// </summary>
internal sealed class BlockGroupCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockGroupCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        CreateKey = BlockCommand.KeyOption("The group owner's private key file (PEM); required");
        CreateMembers = BlockCommand.UsersOption("--member", "A member's public key file; repeatable (the owner is always a member)");
        var create = new Command("create", "Create a group block owned by --key's user; prints its address") { CreateKey, CreateMembers };
        create.SetAction((result, cancellationToken) => CreateAsync(_global.Bind(result), result.GetValue(CreateKey), result.GetValue(CreateMembers) ?? [], cancellationToken));
        Command = new Command("group", "Groups of users that ACBs can name as readers") { create, Change(add: true), Change(add: false), Show() };
    }

    /// <summary>The <c>group</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>group create --key</c>.</summary>
    public Option<string?> CreateKey { get; }

    /// <summary><c>group create --member</c>.</summary>
    public Option<string[]> CreateMembers { get; }

    private Command Change(bool add)
    {
        var address = BlockCommand.AddressArgument();
        var key = BlockCommand.KeyOption("The group owner's private key file (PEM); required");
        var member = new Option<string?>("--member") { Description = "The member's public key file; required", HelpName = "file" };
        var command = add
            ? new Command("add", "Add a member to a group's current generation") { address, key, member }
            : new Command("remove", "Remove a member: a new generation of the group key for the others") { address, key, member };
        command.SetAction((result, cancellationToken) =>
            ChangeAsync(_global.Bind(result), add, result.GetValue(address), result.GetValue(key), result.GetValue(member), cancellationToken));
        return command;
    }

    private Command Show()
    {
        var address = BlockCommand.AddressArgument();
        var command = new Command("show", "Show a group's owner, generations and current members") { address };
        command.SetAction((result, cancellationToken) => ShowAsync(_global.Bind(result), result.GetValue(address), cancellationToken));
        return command;
    }

    private Task<int> CreateAsync(ConnectionSettings connection, string? keyPath, IReadOnlyList<string> memberPaths, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, connection, async reporter =>
        {
            if (keyPath is null)
            {
                return reporter.Fail(ExitCodes.Usage, "group create needs --key: the group owner's private key file");
            }
            using var owner = UserKeyFiles.LoadKeyPair(keyPath, _io.GetEnvironmentVariable);
            var members = memberPaths.Select(p => UserKeyFiles.LoadPublicKey(p, _io.GetEnvironmentVariable)).ToList();
            using var client = connection.Connect();
            var group = await client.CreateGroupAsync(owner, members, cancellationToken).ConfigureAwait(false);
            _io.WriteLine(connection.Json
                ? Output.Json.Write(w => { w.WriteString("address", group.GetAddress().ToString()); w.WriteString("type", BlockKinds.GroupType); w.WriteNumber("members", group.GroupGenerations[0].Members.Count); })
                : group.GetAddress().ToString());
            return ExitCodes.Ok;
        }, cancellationToken);

    private Task<int> ChangeAsync(ConnectionSettings connection, bool add, BlockAddress address, string? keyPath, string? memberPath, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, connection, async reporter =>
        {
            if (keyPath is null || memberPath is null)
            {
                return reporter.Fail(ExitCodes.Usage, $"group {(add ? "add" : "remove")} needs --key (the owner's private key file) and --member (a public key file)");
            }
            using var owner = UserKeyFiles.LoadKeyPair(keyPath, _io.GetEnvironmentVariable);
            var member = UserKeyFiles.LoadPublicKey(memberPath, _io.GetEnvironmentVariable);
            using var client = connection.Connect();
            BlockUpdateResult? outcome;
            try
            {
                outcome = add
                    ? await client.AddGroupMemberAsync(address, owner, member, cancellationToken).ConfigureAwait(false)
                    : await client.RemoveGroupMemberAsync(address, owner, member, cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                return reporter.Fail(ExitCodes.Rejected, Output.Errors.Describe(e));
            }
            switch (outcome)
            {
                case null:
                    return reporter.Fail(ExitCodes.NotFound, $"block {address} not found");
                case BlockUpdateResult.Conflict conflict:
                    return reporter.Fail(new Output.Failure(ExitCodes.Conflict, $"group {address} changed meanwhile (now version {conflict.Current.Version}); run the command again", null));
            }
            var group = await client.FetchBlockAsync(address, cancellationToken).ConfigureAwait(false);
            var generation = group?.GroupGenerations.Count - 1 ?? -1;
            _io.WriteLine(connection.Json
                ? Output.Json.Write(w => { w.WriteString("address", address.ToString()); w.WriteNumber("generation", generation); })
                : $"{address}: {member} {(add ? "added to" : "removed; new")} generation {generation}");
            return ExitCodes.Ok;
        }, cancellationToken);

    private Task<int> ShowAsync(ConnectionSettings connection, BlockAddress address, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, connection, async reporter =>
        {
            Block? group;
            using (var client = connection.Connect())
            {
                group = await client.FetchBlockAsync(address, cancellationToken).ConfigureAwait(false);
            }
            if (group is null)
            {
                return reporter.Fail(ExitCodes.NotFound, $"block {address} not found");
            }
            if (group.Type != BlockKinds.GroupType)
            {
                return reporter.Fail(ExitCodes.Rejected, $"block {address} is {group.Type}, not a group block");
            }
            var members = GroupBlocks.MembersOf(group);
            if (connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("address", address.ToString());
                    w.WriteNumber("version", group.Version);
                    w.WriteString("ownerId", MemoPublicKey.FromSpki(group.OwnerKey.Span).ToString());
                    w.WriteNumber("generation", group.GroupGenerations.Count - 1);
                    w.WriteStartArray("members");
                    foreach (var member in members)
                    {
                        w.WriteStringValue(member.ToString());
                    }
                    w.WriteEndArray();
                }));
                return ExitCodes.Ok;
            }
            _io.WriteLine($"{address}  GB version {group.Version}, generation {group.GroupGenerations.Count - 1}");
            _io.WriteLine($"owner   {MemoPublicKey.FromSpki(group.OwnerKey.Span)}");
            foreach (var member in members)
            {
                _io.WriteLine($"member  {member}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);
}
