using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary><c>memo block acl add|remove|show</c>: the ACL of an access-controlled block (ACB).</summary>
internal sealed class BlockAclCommand
{
    public BlockAclCommand(GlobalOptions global, CliIo io)
    {
        Add = new BlockAclChangeCommand(global, io, add: true);
        Remove = new BlockAclChangeCommand(global, io, add: false);
        Show = new BlockAclShowCommand(global, io);
        Command = new Command("acl", "Show or change who may read and write an access-controlled block (ACB)") { Add.Command, Remove.Command, Show.Command };
    }

    /// <summary>The <c>acl</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>acl add</c>.</summary>
    public BlockAclChangeCommand Add { get; }

    /// <summary><c>acl remove</c>.</summary>
    public BlockAclChangeCommand Remove { get; }

    /// <summary><c>acl show</c>.</summary>
    public BlockAclShowCommand Show { get; }
}
