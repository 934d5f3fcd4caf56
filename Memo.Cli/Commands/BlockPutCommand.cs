using System.CommandLine;
using Memo.Cli.Input;
using Memo.Protocol.Blocks;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block put-immutable</c> and <c>memo block put-mutable</c>: the node builds, signs and stores a block it owns
/// and the command prints the new address (alone on its line, so <c>$(memo block put-immutable ...)</c> captures it).
/// </summary>
internal sealed class BlockPutCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public BlockPutCommand(GlobalOptions global, CliIo io, bool mutable)
    {
        _global = global;
        _io = io;
        Mutable = mutable;
        Data = BlockCommand.DataArgument();
        File = BlockCommand.FileOption();
        Command = mutable
            ? new Command("put-mutable", "Store data in a new mutable block (version 0) owned by the node; prints its address") { Data, File }
            : new Command("put-immutable", "Store data in a new immutable, content-addressed block; prints its address") { Data, File };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>True for <c>put-mutable</c>.</summary>
    public bool Mutable { get; }

    /// <summary>The command.</summary>
    public Command Command { get; }

    /// <summary>The data given inline.</summary>
    public Argument<string?> Data { get; }

    /// <summary><c>--file</c>.</summary>
    public Option<string?> File { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Data), result.GetValue(File));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
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
            BlockAddress address;
            using (var client = settings.Connection.Connect())
            {
                address = Mutable
                    ? await client.InsertMutableBlockAsync(data, cancellationToken).ConfigureAwait(false)
                    : await client.InsertImmutableBlockAsync(data, cancellationToken).ConfigureAwait(false);
            }
            _io.WriteLine(settings.Connection.Json
                ? Output.Json.Write(w =>
                {
                    w.WriteString("address", address.ToString());
                    w.WriteString("type", Mutable ? "OKB" : "CHB");
                    w.WriteNumber("bytes", data.Length);
                })
                : address.ToString());
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What the put command was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, string? Data, string? File);
}
