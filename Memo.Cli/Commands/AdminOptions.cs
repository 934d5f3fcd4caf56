using System.CommandLine;
using Memo.Admin;

namespace Memo.Cli.Commands;

/// <summary>
/// The options of <c>memo cluster ...</c>, which talks to the node's admin actor over Akka remoting rather than to its
/// gRPC port: <c>--remote host:port</c> (the node's <c>--remote</c>) and <c>--network NAME</c> (its network's name, which
/// names its ActorSystem and so is part of the admin actor's address). Accepted before or after the subcommand.
/// </summary>
internal sealed class AdminOptions
{
    /// <summary>Where a node's remoting listens unless <c>--remote</c> or <c>MEMO_REMOTE</c> says otherwise.</summary>
    public const string DefaultRemote = "127.0.0.1:5091";

    /// <summary>The environment variable that replaces <see cref="DefaultRemote"/>.</summary>
    public const string RemoteVariable = "MEMO_REMOTE";

    /// <summary>The network name unless <c>--network</c> or <c>MEMO_NETWORK</c> says otherwise (the node's default).</summary>
    public const string DefaultNetwork = "memo";

    /// <summary>The environment variable that replaces <see cref="DefaultNetwork"/>.</summary>
    public const string NetworkVariable = "MEMO_NETWORK";

    /// <summary>The environment variable that gives <c>--cert</c>.</summary>
    public const string CertificateVariable = "MEMO_CERT";

    /// <summary>The environment variable that gives <c>--key</c>.</summary>
    public const string KeyVariable = "MEMO_KEY";

    private readonly GlobalOptions _global;

    public AdminOptions(GlobalOptions global, Func<string, string?> getEnvironmentVariable)
    {
        _global = global;
        Remote = new Option<string>("--remote")
        {
            Description = $"The node's Akka remoting endpoint (its --remote); ${RemoteVariable} replaces the default {DefaultRemote}",
            HelpName = "host:port",
            Recursive = true,
            DefaultValueFactory = _ => getEnvironmentVariable(RemoteVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultRemote,
        };
        Remote.Validators.Add(result =>
        {
            if (!AdminEndpoint.TryParse(result.GetValueOrDefault<string>(), DefaultNetwork, out _, out var problem))
            {
                result.AddError("--remote: " + problem);
            }
        });
        Network = new Option<string>("--network")
        {
            Description = $"The node's network name (memo.network.name); ${NetworkVariable} replaces the default {DefaultNetwork}",
            HelpName = "name",
            Recursive = true,
            DefaultValueFactory = _ => getEnvironmentVariable(NetworkVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultNetwork,
        };
        Certificate = new Option<string?>("--cert")
        {
            Description = $"The administrator certificate (memo admin certify) presented to a node whose remoting uses TLS (with --ca); ${CertificateVariable} replaces the default (none)",
            HelpName = "file",
            Recursive = true,
            DefaultValueFactory = _ => getEnvironmentVariable(CertificateVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null,
        };
        Key = new Option<string?>("--key")
        {
            Description = $"The administrator certificate's private key; ${KeyVariable} replaces the default (none)",
            HelpName = "file",
            Recursive = true,
            DefaultValueFactory = _ => getEnvironmentVariable(KeyVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null,
        };
        Network.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!AdminEndpoint.IsValidNetworkName(value))
            {
                result.AddError($"--network: '{value}' is not a network name (1..64 characters: a letter or digit, then letters, digits, '-' or '_')");
            }
        });
    }

    /// <summary><c>--remote host:port</c>.</summary>
    public Option<string> Remote { get; }

    /// <summary><c>--network NAME</c>.</summary>
    public Option<string> Network { get; }

    /// <summary><c>--cert FILE</c>.</summary>
    public Option<string?> Certificate { get; }

    /// <summary><c>--key FILE</c>.</summary>
    public Option<string?> Key { get; }

    /// <summary>Adds the options to the <c>cluster</c> command (they apply to its subcommands), and refuses <c>--node</c>
    /// there: it names a gRPC endpoint, and a command that quietly went to the default remoting endpoint instead would act
    /// on another node than the one named.</summary>
    public void AddTo(Command cluster)
    {
        cluster.Add(Remote);
        cluster.Add(Network);
        cluster.Add(Certificate);
        cluster.Add(Key);
        // On each subcommand: the parser runs the validators of the command it ends on, not its parents'.
        foreach (var command in cluster.Subcommands)
        {
            command.Validators.Add(result =>
            {
                if (result.GetResult(_global.Node) is { Implicit: false })
                {
                    result.AddError("memo cluster talks to the node's Akka remoting endpoint: use --remote host:port (the node's --remote, default "
                        + DefaultRemote + "), not --node");
                }
            });
        }
    }

    /// <summary>The admin settings of a parsed command line.</summary>
    public AdminSettings Bind(ParseResult result)
    {
        var global = _global.Bind(result);
        return new AdminSettings(result.GetValue(Remote)!, result.GetValue(Network)!, global.Json, global.Timeout)
        {
            Ca = global.Ca,
            Certificate = result.GetValue(Certificate),
            Key = result.GetValue(Key),
        };
    }
}

/// <summary>Where and how <c>memo cluster</c> asks: the node's remoting endpoint, its network, output mode, time limit.</summary>
internal sealed record AdminSettings(string Remote, string Network, bool Json, TimeSpan Timeout)
{
    /// <summary>The network CA certificate (<c>--ca</c>): remoting over mutual TLS; null for plaintext.</summary>
    public string? Ca { get; init; }

    /// <summary>The administrator certificate (<c>--cert</c>).</summary>
    public string? Certificate { get; init; }

    /// <summary>Its key (<c>--key</c>).</summary>
    public string? Key { get; init; }

    /// <summary>The TLS settings of the admin client, null for plaintext, or why they cannot be made.</summary>
    /// <exception cref="Memo.Protocol.Security.CertificateFileException">A file is unreadable or not what it must be.</exception>
    public Memo.Admin.AdminTls? LoadTls(out string? problem)
    {
        problem = null;
        if (Ca is null)
        {
            if (Certificate is not null || Key is not null)
            {
                problem = "--cert and --key need --ca (the network CA certificate) as well";
            }
            return null;
        }
        if (Certificate is null || Key is null)
        {
            problem = "memo cluster over TLS needs an administrator certificate: give --cert and --key (make them with memo admin certify)";
            return null;
        }
        var trust = Memo.Protocol.Security.NetworkTrust.Load(Ca);
        var certificate = Memo.Protocol.Security.PemFiles.LoadCertificateWithKey(Certificate, Key,
            Environment.GetEnvironmentVariable(Memo.Protocol.Security.PemFiles.PassphraseVariable), "administrator certificate");
        // The process ends after one command: the trust lives as long as the client.
        return new Memo.Admin.AdminTls(certificate, (presented, _, _, _, _) =>
            trust.Check(presented, out _) is { Role: Memo.Protocol.Security.CertificateRole.Node });
    }

    /// <summary>The admin endpoint, or why the remote or the network is not valid (from <c>MEMO_REMOTE</c> or
    /// <c>MEMO_NETWORK</c>: values on the command line were checked when parsed).</summary>
    public bool TryGetEndpoint(out AdminEndpoint? endpoint, out string? problem) => AdminEndpoint.TryParse(Remote, Network, out endpoint, out problem);

    /// <summary>How errors name the node: its remoting endpoint.</summary>
    public string Target => Remote;
}
