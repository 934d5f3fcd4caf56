using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Memo.Cli.Output;
using Memo.Protocol.Security;

namespace Memo.Cli.Commands;

/// <summary>
/// The certificate commands, which work on files only and talk to no node:
/// <c>memo network create</c> (the network's CA), <c>memo node certify</c> (a node certificate bound to the node's
/// key and NodeId) and <c>memo admin certify</c> (an administrator certificate for <c>memo cluster</c>). Each is a
/// thin shell over <see cref="NetworkAuthority"/>.
/// </summary>
internal sealed class CertificateCommands
{
    private const string NodeKeyFile = "node.key";
    private const string DatabaseFile = "memo.db";

    /// <summary>The owner's public key file <c>memo network create --owner</c> writes beside the CA.</summary>
    public const string OwnerKeyFile = "owner.pub";

    private readonly CliIo _io;
    private readonly GlobalOptions _global;

    public CertificateCommands(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Network = BuildNetwork();
        Node = BuildNode();
        Admin = BuildAdmin();
    }

    /// <summary><c>memo network create</c>.</summary>
    public Command Network { get; }

    /// <summary><c>memo node certify</c>.</summary>
    public Command Node { get; }

    /// <summary><c>memo admin certify</c>.</summary>
    public Command Admin { get; }

    private static Option<string> CaDirectory() => new("--ca-dir")
    {
        Description = "The network CA's folder (ca.crt and ca.key, from memo network create)",
        HelpName = "dir",
        Required = true,
    };

    private static Option<int> Days(int defaultDays) =>
        GlobalOptions.NumberOption("--days", null, defaultDays, 1, 36_500, "Validity in days, from now");

    private Command BuildNetwork()
    {
        var directory = new Option<string>("--dir") { Description = "Folder to write ca.crt and ca.key (0600) into; created 0700", HelpName = "dir", Required = true };
        var name = new Option<string>("--name") { Description = "The network's name (memo.network.name)", HelpName = "name", DefaultValueFactory = _ => "memo" };
        var days = Days(3650);
        var owner = new Option<string?>("--owner")
        {
            Description = "A user (memo user create) to own the network: its public key is written to DIR/owner.pub, for the nodes' memo.network.owner",
            HelpName = "user",
        };
        var create = new Command("create", "Make a network CA: the key and certificate that issue node and administrator certificates; with --owner, the owner's key file") { directory, name, days, owner };
        create.SetAction(result => Run(result, reporter =>
        {
            // Read first, so an unknown owner leaves no half-made folder.
            var ownerUser = result.GetValue(owner) is { } ownerName ? _global.Bind(result).Users.Get(ownerName) : null;
            using var authority = NetworkAuthority.Create(result.GetValue(name)!, TimeSpan.FromDays(result.GetValue(days)));
            authority.Save(result.GetValue(directory)!);
            var path = Path.Combine(result.GetValue(directory)!, NetworkAuthority.CertificateFile);
            var ownerPath = ownerUser is null ? null : Path.Combine(result.GetValue(directory)!, OwnerKeyFile);
            if (ownerUser is not null)
            {
                File.WriteAllText(ownerPath!, ownerUser.ToPem());
            }
            _io.WriteLine(Json(result)
                ? Output.Json.Write(w =>
                {
                    w.WriteString("ca", path);
                    w.WriteString("network", authority.Network);
                    if (ownerPath is not null)
                    {
                        w.WriteString("owner", ownerPath);
                    }
                })
                : ownerPath is null ? path : path + "\n" + ownerPath);
            return ExitCodes.Ok;
        }));
        return new Command("network", "Create the network's certificate authority (create), show the network's policies (show)") { create };
    }

    private Command BuildNode()
    {
        var ca = CaDirectory();
        var data = new Option<string>("--data") { Description = "The node's data folder: its node.key is certified (created 0600 when missing)", HelpName = "dir", Required = true };
        var id = new Option<string?>("--id") { Description = "The node's NodeId (16 hex digits), required for a folder whose node has started; default: a new id the node adopts at its first start", HelpName = "hex" };
        var hosts = new Option<string[]>("--host")
        {
            Description = "A host name or IP address clients reach the node's API at (repeatable; default 127.0.0.1 and localhost)",
            HelpName = "host",
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<string?>("--out") { Description = "Where to write the certificate (default: node.crt in the data folder)", HelpName = "file" };
        var days = Days(365);
        var certify = new Command("certify", "Issue a node certificate bound to the node's key and NodeId (memo.node.certificate)") { ca, data, id, hosts, output, days };
        certify.SetAction(result => Run(result, reporter =>
        {
            var folder = result.GetValue(data)!;
            ulong nodeId;
            if (result.GetValue(id) is { } text)
            {
                if (!ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out nodeId) || nodeId == 0 || text.Length > 16)
                {
                    return reporter.Fail(ExitCodes.Usage, $"--id: '{text}' is not a NodeId (1 to 16 hex digits, not all zero)");
                }
            }
            else if (File.Exists(Path.Combine(folder, DatabaseFile)))
            {
                return reporter.Fail(ExitCodes.Usage,
                    $"the node of {folder} has started before and has its NodeId: pass it with --id (memo cluster show lists it; the node logs it at start)");
            }
            else
            {
                nodeId = NewNodeId();
            }
            using var authority = NetworkAuthority.Load(result.GetValue(ca)!);
            using var key = LoadOrCreateNodeKey(folder);
            var names = result.GetValue(hosts) is { Length: > 0 } given ? given : ["127.0.0.1", "localhost"];
            using var certificate = authority.IssueNode(key, nodeId, names, TimeSpan.FromDays(result.GetValue(days)));
            var path = result.GetValue(output) ?? Path.Combine(folder, "node.crt");
            PemFiles.WriteCertificate(path, certificate);
            var idText = nodeId.ToString("x16", CultureInfo.InvariantCulture);
            _io.WriteLine(Json(result) ? Output.Json.Write(w => { w.WriteString("certificate", path); w.WriteString("id", idText); }) : $"{path} (node {idText})");
            return ExitCodes.Ok;
        }));
        return new Command("node", "Certificates of nodes") { certify };
    }

    private Command BuildAdmin()
    {
        var ca = CaDirectory();
        var name = new Option<string>("--name") { Description = "The administrator's name (letters, digits, '-', '_', '.', '@')", HelpName = "name", DefaultValueFactory = _ => "admin" };
        var output = new Option<string>("--out") { Description = "Folder to write admin.crt and admin.key (0600) into; created 0700", HelpName = "dir", Required = true };
        var days = Days(365);
        var certify = new Command("certify", "Issue an administrator certificate and key for memo cluster (--cert, --key)") { ca, name, output, days };
        certify.SetAction(result => Run(result, reporter =>
        {
            using var authority = NetworkAuthority.Load(result.GetValue(ca)!);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var certificate = authority.IssueAdmin(key, result.GetValue(name)!, TimeSpan.FromDays(result.GetValue(days)));
            var folder = result.GetValue(output)!;
            CreatePrivateFolder(folder);
            PemFiles.WriteKey(Path.Combine(folder, "admin.key"), key);
            PemFiles.WriteCertificate(Path.Combine(folder, "admin.crt"), certificate);
            _io.WriteLine(Json(result)
                ? Output.Json.Write(w => { w.WriteString("certificate", Path.Combine(folder, "admin.crt")); w.WriteString("key", Path.Combine(folder, "admin.key")); })
                : Path.Combine(folder, "admin.crt"));
            return ExitCodes.Ok;
        }));
        return new Command("admin", "Certificates of administrators") { certify };
    }

    private bool Json(System.CommandLine.ParseResult result) => result.GetValue(_global.Json);

    private Task<int> Run(System.CommandLine.ParseResult result, Func<Reporter, int> body)
    {
        var reporter = new Reporter(_io, Json(result));
        try
        {
            return Task.FromResult(body(reporter));
        }
        catch (Exception e) when (e is CertificateFileException or ArgumentException or CryptographicException or IOException or UnauthorizedAccessException
            or Users.UserStoreException)
        {
            return Task.FromResult(reporter.Fail(ExitCodes.Usage, Errors.Describe(e)));
        }
    }

    // The node's key as the node itself writes it (PKCS#8 PEM, 0600), so the certificate (or a storage passport) is
    // bound to the key the node will present; an encrypted key is read with MEMO_KEY_PASSPHRASE.
    internal static ECDsa LoadOrCreateNodeKey(string folder)
    {
        var path = Path.Combine(folder, NodeKeyFile);
        if (File.Exists(path))
        {
            return PemFiles.ReadKey(File.ReadAllText(path), path, Environment.GetEnvironmentVariable(PemFiles.PassphraseVariable));
        }
        CreatePrivateFolder(folder);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PemFiles.WriteKey(path, key);
        return key;
    }

    private static void CreatePrivateFolder(string folder)
    {
        if (Directory.Exists(folder))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static ulong NewNodeId()
    {
        ulong value;
        do
        {
            value = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        }
        while (value == 0);
        return value;
    }
}
