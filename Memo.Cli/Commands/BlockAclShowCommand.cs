using System.CommandLine;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block acl show &lt;0xaddress&gt;</c>: an ACB's owner, versions, editor, world flags, user entries and
/// groups, as the owner and the editor signed them (no key needed: the ACL is not secret, the data is).
/// </summary>
internal sealed class BlockAclShowCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockAclShowCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Address = BlockCommand.AddressArgument();
        Command = new Command("show", "Show an ACB's owner, editor, versions and ACL") { Address };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Address));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            Block? block;
            using (var client = settings.Connection.Connect())
            {
                block = await client.FetchBlockAsync(settings.Address, cancellationToken).ConfigureAwait(false);
            }
            if (block is null)
            {
                return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
            }
            if (block.Type != BlockKinds.AclType)
            {
                return reporter.Fail(ExitCodes.Rejected, $"block {settings.Address} is {block.Type}, not an ACB");
            }
            if (settings.Connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w => Output.BlockJson.WriteAcl(w, block)));
                return ExitCodes.Ok;
            }
            var owner = MemoPublicKey.FromSpki(block.OwnerKey.Span);
            _io.WriteLine($"{settings.Address}  ACB version {block.Version}, ACL version {block.AclVersion}{(block.Deleted ? ", deleted" : "")}");
            _io.WriteLine($"owner   {owner}");
            _io.WriteLine($"editor  {AclBlocks.EditorOf(block)}");
            _io.WriteLine($"world   {(block.WorldReadable ? "read" : "-")} {(block.WorldWritable ? "write" : "-")}");
            foreach (var entry in block.Acl)
            {
                _io.WriteLine($"user    {MemoPublicKey.FromSpki(entry.Key.Span)}  {(entry.Read ? "read" : "-")} {(entry.Write ? "write" : "-")}");
            }
            foreach (var entry in block.GroupAcl)
            {
                _io.WriteLine($"group   {BlockAddress.FromBytes(entry.Group.Span)}  read (generation {entry.Generation})");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>block acl show</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address);
}
