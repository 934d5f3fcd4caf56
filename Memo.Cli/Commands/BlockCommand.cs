using System.CommandLine;
using Memo.Protocol.Blocks;

namespace Memo.Cli.Commands;

/// <summary><c>memo block ...</c>: the value store (<c>memo.vs</c>), blocks addressed by <c>0x</c> + 64 hex digits.</summary>
internal sealed class BlockCommand
{
    public BlockCommand(GlobalOptions global, CliIo io)
    {
        PutImmutable = new BlockPutCommand(global, io, mutable: false);
        PutMutable = new BlockPutCommand(global, io, mutable: true);
        Get = new BlockGetCommand(global, io);
        Update = new BlockUpdateCommand(global, io);
        Delete = new BlockDeleteCommand(global, io);
        PutAcl = new BlockPutAclCommand(global, io);
        Acl = new BlockAclCommand(global, io);
        Group = new BlockGroupCommand(global, io);
        Versions = new BlockVersionsCommand(global, io);
        Command = new Command("block", "Read and write blocks of the value store")
        {
            PutImmutable.Command, PutMutable.Command, Get.Command, Update.Command, Delete.Command,
            PutAcl.Command, Acl.Command, Group.Command, Versions.Command,
        };
    }

    /// <summary><c>block versions</c>.</summary>
    public BlockVersionsCommand Versions { get; }

    /// <summary><c>block put-acl</c>.</summary>
    public BlockPutAclCommand PutAcl { get; }

    /// <summary><c>block acl add|remove|show</c>.</summary>
    public BlockAclCommand Acl { get; }

    /// <summary><c>block group create|add|remove|show</c>.</summary>
    public BlockGroupCommand Group { get; }

    /// <summary>The <c>block</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>block put-immutable</c>.</summary>
    public BlockPutCommand PutImmutable { get; }

    /// <summary><c>block put-mutable</c>.</summary>
    public BlockPutCommand PutMutable { get; }

    /// <summary><c>block get</c>.</summary>
    public BlockGetCommand Get { get; }

    /// <summary><c>block update</c>.</summary>
    public BlockUpdateCommand Update { get; }

    /// <summary><c>block delete</c>.</summary>
    public BlockDeleteCommand Delete { get; }

    /// <summary>The <c>&lt;address&gt;</c> argument: <c>0x</c> + 64 hex digits.</summary>
    public static Argument<BlockAddress> AddressArgument() => new("address")
    {
        Description = "The block's address, 0x followed by 64 hex digits",
        CustomParser = result =>
        {
            var token = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
            if (!BlockAddress.TryParse(token, out var address))
            {
                result.AddError($"'{token}' is not a block address (0x followed by 64 hex digits)");
                return default;
            }
            return address;
        },
    };

    /// <summary>The optional data argument of the put and update commands.</summary>
    public static Argument<string?> DataArgument() => new("data")
    {
        Description = "The data as text (UTF-8); '-' or absent reads standard input unless --file is given",
        Arity = ArgumentArity.ZeroOrOne,
    };

    /// <summary>The <c>--key</c> option of the ACB and group commands: the acting user's private key file.</summary>
    public static Option<string?> KeyOption(string description) =>
        new("--key") { Description = description, HelpName = "file" };

    /// <summary>A repeatable option naming users by public key file (PEM <c>PUBLIC KEY</c>, or a private key file).</summary>
    public static Option<string[]> UsersOption(string name, string description) =>
        new(name) { Description = description, HelpName = "file", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore };

    /// <summary>A repeatable option naming group blocks by address.</summary>
    public static Option<string[]> GroupsOption(string description) =>
        new("--group") { Description = description, HelpName = "0xaddress", Arity = ArgumentArity.ZeroOrMore };

    /// <summary>Parses the <c>--group</c> values; false with the problem when one is not a mutable block address.</summary>
    public static bool TryParseGroups(IEnumerable<string> values, out List<BlockAddress> groups, out string? problem)
    {
        groups = [];
        problem = null;
        foreach (var value in values)
        {
            if (!BlockAddress.TryParse(value, out var address) || address.IsImmutable)
            {
                problem = $"'{value}' is not a group block's address (0x followed by 64 hex digits, mutable)";
                return false;
            }
            groups.Add(address);
        }
        return true;
    }

    /// <summary>The <c>--file</c> option of the put and update commands.</summary>
    public static Option<string?> FileOption() =>
        new("--file", "-f") { Description = "Read the data from this file ('-' for standard input)", HelpName = "path" };
}
