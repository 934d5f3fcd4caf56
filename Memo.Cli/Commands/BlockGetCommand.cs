using System.CommandLine;
using Memo.Cli.Output;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block get &lt;0xaddress&gt;</c>: fetches a block, verifies it against its address, and writes its data raw
/// to standard output (or <c>--output</c>); with <c>--json</c> prints the whole block.
/// </summary>
internal sealed class BlockGetCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockGetCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Address = BlockCommand.AddressArgument();
        OutputFile = new Option<string?>("--output", "-o") { Description = "Write the data to this file instead of standard output", HelpName = "path" };
        Command = new Command("get", "Fetch a block's data (raw to standard output; --json: the whole block)") { Address, OutputFile };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>get</c> command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary><c>--output</c>.</summary>
    public Option<string?> OutputFile { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Address), result.GetValue(OutputFile));

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
            var data = BlockJson.Data(block);
            if (settings.OutputFile is { } path)
            {
                try
                {
                    await File.WriteAllBytesAsync(path, data, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return reporter.Fail(ExitCodes.Usage, $"cannot write {path}: {Errors.Describe(e)}");
                }
            }
            if (settings.Connection.Json)
            {
                _io.WriteLine(Json.Write(w => BlockJson.WriteProperties(w, block)));
            }
            else if (settings.OutputFile is null)
            {
                await _io.Stdout.WriteAsync(data, cancellationToken).ConfigureAwait(false);
                await _io.Stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _io.WriteLine($"wrote {data.Length} bytes to {settings.OutputFile}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>block get</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address, string? OutputFile);
}
