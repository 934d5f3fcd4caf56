using System.CommandLine;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;

namespace Memo.Cli.Commands;

/// <summary><c>memo kv get &lt;key&gt; [--version V]</c>: writes the raw value (the current one, or a kept older version) to
/// standard output (or <c>--output</c>), so pipes get the bytes.</summary>
internal sealed class KvGetCommand
{
    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public KvGetCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Key = KvCommand.KeyArgument();
        OutputFile = new Option<string?>("--output", "-o") { Description = "Write the value to this file instead of standard output", HelpName = "path" };
        Consistency = new Option<string?>("--consistency")
        {
            Description = "linearizable: the shard's leader confirms the read (sees every acknowledged write); stale: any replica answers "
                + "from its copy (faster, works without a leader, may miss recent writes). Default: the node's memo.kvs.read-consistency",
            HelpName = "level",
        };
        Consistency.AcceptOnlyFromAmong("linearizable", "stale");
        Version = new Option<ulong?>("--version")
        {
            Description = "Fetch this version of the key instead of the current one (see memo kv versions; exit 3 when it is not kept)",
            HelpName = "n",
        };
        Version.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<ulong?>() == 0)
            {
                result.AddError("--version counts the key's writes from 1");
            }
        });
        Command = new Command("get", "Fetch a key's value (raw bytes to standard output; --json: base64 in a JSON object)") { Key, OutputFile, Consistency, Version };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>get</c> command.</summary>
    public Command Command { get; }

    /// <summary>The key.</summary>
    public Argument<string> Key { get; }

    /// <summary><c>--output</c>.</summary>
    public Option<string?> OutputFile { get; }

    /// <summary><c>--consistency</c>.</summary>
    public Option<string?> Consistency { get; }

    /// <summary><c>--version</c>.</summary>
    public Option<ulong?> Version { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_global.Bind(result), result.GetValue(Key)!, result.GetValue(OutputFile),
        result.GetValue(Consistency) switch
        {
            "linearizable" => ReadConsistencyLevel.Linearizable,
            "stale" => ReadConsistencyLevel.Stale,
            _ => null,
        }, result.GetValue(Version));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            byte[] value;
            ulong version;
            using (var client = settings.Connection.Connect())
            {
                try
                {
                    var response = await client.FetchEntryAsync(settings.Key, settings.Version ?? 0, settings.Consistency, cancellationToken).ConfigureAwait(false);
                    (value, version) = (response.Value.ToByteArray(), response.Version);
                }
                catch (GrpcException e) when (e.Status == GrpcStatusCode.NotFound)
                {
                    // The node's message names the kept versions when the key exists but the version does not.
                    return reporter.Fail(ExitCodes.NotFound, settings.Version is null ? $"key '{settings.Key}' not found" : e.Message);
                }
            }
            if (settings.OutputFile is { } path)
            {
                try
                {
                    await File.WriteAllBytesAsync(path, value, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return reporter.Fail(ExitCodes.Usage, $"cannot write {path}: {Output.Errors.Describe(e)}");
                }
            }
            if (settings.Connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("key", settings.Key);
                    if (version > 0)
                    {
                        w.WriteNumber("version", version);
                    }
                    w.WriteNumber("bytes", value.Length);
                    if (settings.OutputFile is null)
                    {
                        w.WriteBase64String("value", value);
                    }
                    else
                    {
                        w.WriteString("output", settings.OutputFile);
                    }
                }));
            }
            else if (settings.OutputFile is null)
            {
                await _io.Stdout.WriteAsync(value, cancellationToken).ConfigureAwait(false);
                await _io.Stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _io.WriteLine($"wrote {value.Length} bytes to {settings.OutputFile}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What <c>kv get</c> was asked to do.</summary>
    /// <param name="Connection">Where and how to reach the node.</param>
    /// <param name="Key">The key.</param>
    /// <param name="OutputFile">Where to write the value; null: standard output.</param>
    /// <param name="Consistency">The read's level; null: the node's default.</param>
    /// <param name="Version">The version to fetch; null: the current one.</param>
    public sealed record Settings(ConnectionSettings Connection, string Key, string? OutputFile, ReadConsistencyLevel? Consistency = null, ulong? Version = null);
}
