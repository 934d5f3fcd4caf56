using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Memo.Cli.Commands;
using Memo.Cli.Output;

namespace Memo.Cli;

/// <summary>
/// The <c>memo</c> command tree:
/// <code>
/// memo [--node host:port] [--json] [--timeout 30s]
///   kv put &lt;key&gt; [value] [--file PATH] [--mode upsert|insert|update]
///   kv get &lt;key&gt; [--output FILE] [--consistency linearizable|stale]
///   kv delete &lt;key&gt;
///   kv list [--prefix P] [--marker M] [--delimiter D] [--max-keys N] [--all]
///   block put-immutable [data] [--file PATH]
///   block put-mutable [data] [--file PATH]
///   block get &lt;0xaddress&gt; [--output FILE] [--key FILE]              (--key: an ACB reader's private key)
///   block update &lt;0xaddress&gt; [data] [--file PATH] [--key FILE]      (--key: an ACB's owner or writer)
///   block delete &lt;0xaddress&gt; [--key FILE]                          (--key: the owner; an ACB is tombstoned)
///   block put-acl [data] [--file PATH] --key FILE [--reader FILE]... [--writer FILE]... [--group 0x…]... [--world-readable] [--world-writable]
///   block acl add|remove &lt;0xaddress&gt; --key FILE (--user FILE [--read] [--write] | --group 0x…)
///   block acl show &lt;0xaddress&gt;
///   block group create --key FILE [--member FILE]... | add|remove &lt;0xaddress&gt; --key FILE --member FILE | show &lt;0xaddress&gt;
///   cluster show | shards | join &lt;seed&gt; | leave [&lt;node&gt;] | down &lt;node&gt;  [--remote host:port] [--network NAME]  (Akka remoting)
///   network create --dir DIR [--name NAME]                      (files only: the network CA)
///   network show [--remote host:port] [--network NAME]           (the network's policies, over Akka remoting)
///   node certify --ca-dir DIR --data DIR [--id HEX] [--host H]   (a node certificate)
///   admin certify --ca-dir DIR --out DIR [--name NAME]          (an administrator certificate)
///   kv import &lt;folder&gt; [--prefix P] [--concurrency N] [--mode upsert|insert]   (progress, then a summary)
///   kv export &lt;folder&gt; [--prefix P] [--concurrency N]
///   user create|show|export|import NAME; user publish NAME --as OWNER; user lookup NAME --publisher OWNER
///   passport create --user NAME --allow read,write [--prefix P] [--expires 30d] --as OWNER; passport import|show|revoke
///   kv grant --user NAME --prefix P --read|--write --as OWNER       (a passport with a per-prefix grant)
///   (every data command: --as USER signs its calls with the user's key and presents its passport; --home DIR)
///   doctor [--node host:port] [--remote host:port] [--network NAME]   (checks, each with what to fix)
///   completion bash|zsh|fish                                    (a shell completion script)
///   bench kv [--target memo|etcd] [--workload put|get|mixed] [--read-ratio 0.5] [--concurrency N] [--duration 10s] ...
/// </code>
/// Each command is a class holding its options, a <c>Bind(ParseResult)</c> that turns a parse into a settings
/// record (what the tests check), and an action that runs it.
/// </summary>
internal sealed class MemoCli
{
    private readonly CliIo _io;

    public MemoCli(CliIo io)
    {
        _io = io;
        Global = new GlobalOptions(io.GetEnvironmentVariable);
        Kv = new KvCommand(Global, io);
        Block = new BlockCommand(Global, io);
        Bench = new BenchCommand(Global, io);
        Cluster = new ClusterCommand(Global, io);
        Certificates = new CertificateCommands(Global, io);
        NetworkShow = new NetworkShowCommand(Global, io);
        Certificates.Network.Add(NetworkShow.Command);
        Doctor = new DoctorCommand(Global, io);
        Completion = new CompletionCommand(io);
        Users = new UserCommands(Global, io);
        Passports = new PassportCommands(Global, io);
        Kv.Command.Add(Passports.Grant);
        Root = new RootCommand("memo: the command-line client of a Memo node (key-value store, value store, cluster, benchmarks)")
        {
            Kv.Command, Block.Command, Cluster.Command, Bench.Command, Certificates.Network, Certificates.Node, Certificates.Admin,
            Doctor.Command, Completion.Command, Users.Command, Passports.Command,
        };
        Global.AddTo(Root);
        foreach (var option in Root.Options)
        {
            if (option is HelpOption help && help.Action is SynchronousCommandLineAction original)
            {
                help.Action = new HelpWithExitCodes(original);
            }
        }
    }

    /// <summary>The root command.</summary>
    public RootCommand Root { get; }

    /// <summary>The global options.</summary>
    public GlobalOptions Global { get; }

    /// <summary><c>memo kv</c>.</summary>
    public KvCommand Kv { get; }

    /// <summary><c>memo block</c>.</summary>
    public BlockCommand Block { get; }

    /// <summary><c>memo cluster</c>.</summary>
    public ClusterCommand Cluster { get; }

    /// <summary><c>memo network create</c>, <c>memo node certify</c>, <c>memo admin certify</c>.</summary>
    public CertificateCommands Certificates { get; }

    /// <summary><c>memo network show</c>.</summary>
    public NetworkShowCommand NetworkShow { get; }

    /// <summary><c>memo doctor</c>.</summary>
    public DoctorCommand Doctor { get; }

    /// <summary><c>memo completion</c>.</summary>
    public CompletionCommand Completion { get; }

    /// <summary><c>memo user</c>.</summary>
    public UserCommands Users { get; }

    /// <summary><c>memo passport</c> and <c>memo kv grant</c>.</summary>
    public PassportCommands Passports { get; }

    /// <summary><c>memo bench</c>.</summary>
    public BenchCommand Bench { get; }

    /// <summary>Parses a command line without running it.</summary>
    public ParseResult Parse(params string[] args) => Root.Parse(args);

    /// <summary>
    /// Parses and runs a command line; returns the exit code. Parse errors are reported like every other error
    /// (one <c>error:</c> line each, or JSON with <c>--json</c>) with exit code <see cref="ExitCodes.Usage"/>.
    /// </summary>
    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var result = Parse(args);
        if (result.Action is ParseErrorAction)
        {
            var json = result.GetResult(Global.Json) is not null && result.GetValue(Global.Json);
            var reporter = new Reporter(_io, json);
            foreach (var error in result.Errors)
            {
                reporter.Fail(ExitCodes.Usage, ParseErrorText(error.Message));
            }
            if (!json)
            {
                _io.Stderr.WriteLine("run 'memo --help' (or 'memo <command> --help') for usage");
            }
            return ExitCodes.Usage;
        }
        var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = _io.Out, Error = _io.Stderr };
        return await result.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A parser message as one clause: "Argument 'x' not recognized. Must be one of:\n\t'a'..." on one line, no final period.</summary>
    internal static string ParseErrorText(string message)
    {
        var words = message.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries);
        var text = string.Join(' ', words).TrimEnd('.');
        return text.Length > 1 && char.IsUpper(text[0]) && !char.IsUpper(text[1]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;
    }

    // System.CommandLine's help, followed by the exit-code table: scripts need it and it belongs with the usage.
    private sealed class HelpWithExitCodes(SynchronousCommandLineAction help) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var code = help.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.WriteLine(ExitCodes.HelpText);
            return code;
        }
    }
}
