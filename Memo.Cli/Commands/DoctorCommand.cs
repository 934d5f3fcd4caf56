using System.CommandLine;
using System.Net.Sockets;
using System.Reflection;
using Memo.Admin;
using Memo.Cli.Output;
using Memo.Protocol.Grpc;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo doctor</c>: checks a node the way a person would, in order, and says what to fix: is anything listening at
/// <c>--node</c>; does its gRPC API answer (cleartext, or TLS with <c>--ca</c>); does its admin actor answer at
/// <c>--remote</c>; are the CLI and node versions the same; does the node serve, are all members Up and reachable,
/// does every shard have a leader and enough replicas (<see cref="DoctorFindings"/>). Exit 0 when nothing failed,
/// 2 when the node cannot be reached at all, 10 when a check failed.
/// </summary>
internal sealed class DoctorCommand
{
    private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(5);

    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public DoctorCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Admin = new AdminOptions(global, io.GetEnvironmentVariable);
        Command = new Command("doctor", "Check a node: reachability, TLS, versions, membership and shards; says what to fix")
        {
            Admin.Remote, Admin.Network, Admin.Certificate, Admin.Key,
        };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(_global.Bind(result), Admin.Bind(result), cancellationToken));
    }

    /// <summary>The <c>doctor</c> command.</summary>
    public Command Command { get; }

    /// <summary>Its admin options (<c>--remote</c>, <c>--network</c>, <c>--cert</c>, <c>--key</c>).</summary>
    public AdminOptions Admin { get; }

    private async Task<int> ExecuteAsync(ConnectionSettings connection, AdminSettings admin, CancellationToken cancellationToken)
    {
        var findings = new List<DoctorFinding>();
        var unreachable = false;
        var api = await CheckApiAsync(connection, cancellationToken).ConfigureAwait(false);
        findings.Add(api);
        unreachable |= api.Level == DoctorLevel.Fail && api.Check == "listening";

        var (adminFindings, adminUnreachable) = await CheckClusterAsync(admin, cancellationToken).ConfigureAwait(false);
        findings.AddRange(adminFindings);
        unreachable |= adminUnreachable;

        Write(findings, connection.Json);
        return findings.All(f => f.Level != DoctorLevel.Fail) ? ExitCodes.Ok : unreachable ? ExitCodes.Unreachable : ExitCodes.Other;
    }

    // Reachability first (a TCP connect tells "nothing listens" from "something answers differently"), then one
    // key-value read of a key that need not exist: any answer proves the API, its transport security and the node.
    private static async Task<DoctorFinding> CheckApiAsync(ConnectionSettings connection, CancellationToken cancellationToken)
    {
        var node = connection.Node;
        if (!TrySplit(node, out var host, out var port))
        {
            return new(DoctorLevel.Fail, "listening", $"--node '{node}' is not host:port", "pass --node host:port (the node's --listen), or set MEMO_NODE");
        }
        using (var tcp = new TcpClient())
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connect.CancelAfter(ProbeLimit);
            try
            {
                await tcp.ConnectAsync(host, port, connect.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return new(DoctorLevel.Fail, "listening", $"nothing answers at {node} ({(e is SocketException s ? s.SocketErrorCode.ToString() : "no answer within 5 s")})",
                    "start the node, or point --node (or MEMO_NODE) at its --listen address; check firewalls between here and there");
            }
        }
        var transport = connection.Ca is null ? "cleartext HTTP/2" : $"TLS trusting {connection.Ca}";
        try
        {
            using var client = (connection with { Timeout = ProbeLimit < connection.Timeout ? ProbeLimit : connection.Timeout }).Connect();
            await client.FetchAsync("memo-doctor/probe", cancellationToken).ConfigureAwait(false);
            return new(DoctorLevel.Ok, "api", $"the gRPC API at {node} answers ({transport})");
        }
        catch (Exception e) when (e is GrpcException or Protocol.Security.CertificateFileException or IOException)
        {
            var message = Errors.Describe(e);
            if (e is GrpcException { Status: GrpcStatusCode.Unavailable } unavailable && unavailable.Message.Contains("serv", StringComparison.OrdinalIgnoreCase)
                && !message.Contains("SSL", StringComparison.OrdinalIgnoreCase) && !message.Contains("HTTP", StringComparison.Ordinal))
            {
                return new(DoctorLevel.Fail, "api", $"the node at {node} answers but does not serve: {message}", "see the cluster checks below");
            }
            return connection.Ca is null
                ? new(DoctorLevel.Fail, "api", $"something listens at {node} but the gRPC call failed over cleartext HTTP/2: {message}",
                    "if the node serves TLS (memo.api.tls), pass --ca <the network CA file> (or set MEMO_CA); else check --node names the gRPC port (--listen), not the remoting or metrics port")
                : new(DoctorLevel.Fail, "api", $"the gRPC call to {node} failed over TLS trusting {connection.Ca}: {message}",
                    "check that the node serves TLS (memo.api.tls), that --ca is the network's CA (memo network create), and that the node's certificate names the host you dial (memo node certify --host)");
        }
    }

    // host:port, [v6]:port, or either behind http:// or https:// (as --node accepts).
    private static bool TrySplit(string node, out string host, out int port)
    {
        var text = node.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(node, UriKind.Absolute, out var uri) ? uri.Authority : node;
        var colon = text.LastIndexOf(':');
        host = colon > 0 ? text[..colon].Trim('[', ']') : "";
        port = 0;
        return host.Length > 0 && int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            && port is > 0 and <= 65535;
    }

    private async Task<(List<DoctorFinding> Findings, bool Unreachable)> CheckClusterAsync(AdminSettings admin, CancellationToken cancellationToken)
    {
        var findings = new List<DoctorFinding>();
        if (!admin.TryGetEndpoint(out var endpoint, out var problem))
        {
            findings.Add(new(DoctorLevel.Fail, "admin", problem!, "pass --remote host:port (the node's --remote) and --network NAME"));
            return (findings, false);
        }
        AdminClient? client = null;
        try
        {
            var tls = admin.LoadTls(out problem);
            if (problem is not null)
            {
                findings.Add(new(DoctorLevel.Fail, "admin", problem, "pass --ca, --cert and --key together (an administrator certificate from memo admin certify)"));
                return (findings, false);
            }
            client = AdminClient.Start(endpoint!, admin.Timeout < ProbeLimit ? admin.Timeout : ProbeLimit, tls);
            var show = await client.ShowAsync(cancellationToken).ConfigureAwait(false);
            findings.Add(new(DoctorLevel.Ok, "admin", $"the admin actor answers at {admin.Remote} (network '{admin.Network}'{(tls is null ? "" : ", mutual TLS")})"));
            findings.Add(DoctorFindings.Versions(CliVersion, show.NodeVersion));
            findings.AddRange(DoctorFindings.Cluster(show));
            if (show.Serving)
            {
                findings.AddRange(DoctorFindings.Shards(await client.ShardsAsync(cancellationToken).ConfigureAwait(false)));
            }
            return (findings, false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var failure = Errors.FromException(e, admin.Target, admin.Timeout, cancellationToken.IsCancellationRequested);
            findings.Add(new(DoctorLevel.Fail, "admin", $"the admin actor at {admin.Remote} does not answer: {failure.Message}",
                "point --remote (or MEMO_REMOTE) at the node's --remote address and --network at its memo.network.name; a node whose remoting uses TLS needs --ca, --cert and --key"));
            return (findings, failure.ExitCode == ExitCodes.Unreachable);
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private void Write(List<DoctorFinding> findings, bool json)
    {
        var failed = findings.Count(f => f.Level == DoctorLevel.Fail);
        var warned = findings.Count(f => f.Level == DoctorLevel.Warn);
        if (json)
        {
            _io.WriteLine(Json.Write(w =>
            {
                w.WriteBoolean("healthy", failed == 0);
                w.WriteStartArray("checks");
                foreach (var f in findings)
                {
                    w.WriteStartObject();
                    w.WriteString("level", f.Level.ToString().ToLowerInvariant());
                    w.WriteString("check", f.Check);
                    w.WriteString("message", f.Message);
                    w.WriteString("fix", f.Fix);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }));
            return;
        }
        foreach (var f in findings)
        {
            _io.WriteLine($"{f.Level.ToString().ToUpperInvariant(),-5} {f.Check,-9} {f.Message}");
            if (f.Fix.Length > 0 && f.Level != DoctorLevel.Ok)
            {
                _io.WriteLine($"{"",-15} fix: {f.Fix}");
            }
        }
        _io.WriteLine(failed == 0
            ? warned == 0 ? "doctor: all checks passed" : $"doctor: no failures, {warned} warning(s)"
            : $"doctor: {failed} check(s) failed, {warned} warning(s)");
    }

    private static string CliVersion { get; } =
        typeof(DoctorCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(DoctorCommand).Assembly.GetName().Version?.ToString() ?? "unknown";
}
