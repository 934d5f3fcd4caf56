using System.CommandLine;
using Memo.Cli.Input;
using Memo.Cli.Output;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo block get &lt;0xaddress&gt; [--version V]</c>: fetches a block (or a kept older version of a mutable one,
/// <c>memo.network.versions</c>), verifies it against its address, and writes its data raw to standard output (or
/// <c>--output</c>); with <c>--json</c> prints the whole block. An access-controlled block (ACB)
/// is decrypted with <c>--key</c>, a reader's private key file (a world-readable one needs none).
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
        Key = BlockCommand.KeyOption("For an ACB: the private key file (PEM) of a user who may read it");
        Version = new Option<long?>("--version")
        {
            Description = "Fetch this kept version of a mutable block instead of the current one (see memo block versions; exit 3 when it is not kept)",
            HelpName = "n",
        };
        Version.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long?>() < 0)
            {
                result.AddError("--version is 0 or more");
            }
        });
        Command = new Command("get", "Fetch a block's data (raw to standard output; --json: the whole block)") { Address, OutputFile, Key, Version };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>get</c> command.</summary>
    public Command Command { get; }

    /// <summary>The address.</summary>
    public Argument<BlockAddress> Address { get; }

    /// <summary><c>--output</c>.</summary>
    public Option<string?> OutputFile { get; }

    /// <summary><c>--key</c>.</summary>
    public Option<string?> Key { get; }

    /// <summary><c>--version</c>.</summary>
    public Option<long?> Version { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Address), result.GetValue(OutputFile), result.GetValue(Key),
        result.GetValue(Version));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            Block? block;
            ReadOnlyMemory<byte>? decrypted = null;
            if (settings.Version is not null && settings.Key is not null)
            {
                return reporter.Fail(ExitCodes.Usage, "--version reads a kept version as stored; decrypting an older ACB version with --key is not supported");
            }
            using (var client = settings.Connection.Connect())
            {
                if (settings.Version is { } version)
                {
                    block = await client.FetchBlockAsync(settings.Address, version, cancellationToken).ConfigureAwait(false);
                    if (block is null)
                    {
                        var kept = await client.ListBlockVersionsAsync(settings.Address, cancellationToken).ConfigureAwait(false);
                        return reporter.Fail(ExitCodes.NotFound, kept is null
                            ? $"block {settings.Address} not found"
                            : $"version {version} of block {settings.Address} is not kept; the kept versions are {string.Join(", ", kept)}");
                    }
                }
                else
                {
                    block = await client.FetchBlockAsync(settings.Address, cancellationToken).ConfigureAwait(false);
                }
                if (block is not null && block.Type == BlockKinds.AclType && settings.Key is not null)
                {
                    using var user = UserKeyFiles.LoadKeyPair(settings.Key, _io.GetEnvironmentVariable);
                    var content = await client.ReadAclBlockAsync(settings.Address, user, cancellationToken).ConfigureAwait(false);
                    if (content is { Readable: true })
                    {
                        (block, decrypted) = (content.Block, content.Data);
                    }
                    else if (content is not null)
                    {
                        return reporter.Fail(ExitCodes.Rejected, content.Block.Deleted
                            ? $"block {settings.Address} was removed (version {content.Block.Version} is its tombstone)"
                            : $"{user.PublicKey} may not read version {content.Block.Version} of block {settings.Address}");
                    }
                }
            }
            if (block is null)
            {
                return reporter.Fail(ExitCodes.NotFound, $"block {settings.Address} not found");
            }
            if (block.Type == BlockKinds.AclType && decrypted is null && !block.WorldReadable && !settings.Connection.Json)
            {
                return reporter.Fail(ExitCodes.Usage, $"block {settings.Address} is an ACB encrypted for its readers; pass --key with a reader's private key file");
            }
            var data = decrypted ?? BlockJson.Data(block);
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
                _io.WriteLine(Json.Write(w =>
                {
                    BlockJson.WriteProperties(w, block);
                    if (block.Type == BlockKinds.AclType)
                    {
                        // data is as stored (ciphertext unless world-readable); decrypted is what --key opened.
                        if (decrypted is { } plain)
                        {
                            w.WriteBase64String("decrypted", plain.Span);
                        }
                        w.WriteStartObject("acl");
                        BlockJson.WriteAcl(w, block);
                        w.WriteEndObject();
                    }
                }));
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
    public sealed record Settings(ConnectionSettings Connection, BlockAddress Address, string? OutputFile, string? Key = null, long? Version = null);
}
