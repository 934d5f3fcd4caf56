using System.CommandLine;
using Memo.Cli.Output;
using Memo.Cli.Users;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo passport create|import|show|revoke</c> and <c>memo kv grant</c>: passports are signed, here, by the network
/// owner (or a delegate holding <c>sign</c>, whose own passport goes with them) named by <c>--as</c>; the node only
/// checks them.
/// </summary>
internal sealed class PassportCommands
{
    /// <summary>The environment variable that gives <c>--network</c>.</summary>
    public const string NetworkVariable = "MEMO_NETWORK";

    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public PassportCommands(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Command = new Command("passport", "Passports: the network owner's signed grants to a user (read, write, storage, sign, admin)")
        {
            BuildCreate(), BuildImport(), BuildShow(), BuildRevoke(),
        };
        Grant = BuildGrant();
    }

    /// <summary>The <c>passport</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>memo kv grant</c>.</summary>
    public Command Grant { get; }

    private Option<string> NetworkOption() => new("--network")
    {
        Description = $"The network the passport is for (memo.network.name); ${NetworkVariable} replaces the default memo",
        HelpName = "name",
        DefaultValueFactory = _ => _io.GetEnvironmentVariable(NetworkVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : "memo",
    };

    private static Option<string> UserOption(string description) => new("--user") { Description = description, HelpName = "name", Required = true };

    private Command BuildCreate()
    {
        var user = new Option<string?>("--user") { Description = "The user the passport is for: a user in the config folder, else looked up in the user block --as published", HelpName = "name" };
        var node = new Option<string?>("--node")
        {
            Description = $"Instead of --user: a node's data folder; the passport is for its node.key (created 0600 when missing) and is written there as {StorageTicket.FileName}",
            HelpName = "dir",
        };
        var allow = new Option<string>("--allow") { Description = "The rights: read, write, storage, sign, admin (comma-separated)", HelpName = "rights", Required = true };
        var prefix = new Option<string>("--prefix") { Description = "Grant read and write on the keys under this prefix only", HelpName = "prefix", DefaultValueFactory = _ => "" };
        var expires = GlobalOptions.DurationOption("--expires", TimeSpan.Zero, "Valid for this long from now; 0 for ever", allowZero: true);
        var network = NetworkOption();
        var output = new Option<string?>("--out") { Description = "Also write the passport to this file (give it to the user: memo passport import FILE)", HelpName = "file" };
        var command = new Command("create", "Sign a passport for a user, or a node's storage passport, with --as (the network owner, or a delegate holding sign)")
        {
            user, node, allow, prefix, expires, network, output,
        };
        command.SetAction((result, token) => Run(result, async reporter =>
        {
            if (!PassportRightsText.TryParse(result.GetValue(allow)!, out var rights, out var problem))
            {
                return reporter.Fail(ExitCodes.Usage, "--allow: " + problem);
            }
            if (result.GetValue(prefix)!.Length > 0 && (rights & PassportRightsText.NetworkWide) != 0)
            {
                return reporter.Fail(ExitCodes.Usage, "--prefix grants read and write only: storage, sign and admin are network-wide");
            }
            var connection = _global.Bind(result);
            var grants = new[] { new PassportGrantRule(rights, result.GetValue(prefix)!) };
            var validFor = result.GetValue(expires) ?? TimeSpan.Zero;
            if ((result.GetValue(user) is null) == (result.GetValue(node) is null))
            {
                return reporter.Fail(ExitCodes.Usage, "memo passport create needs one of --user NAME and --node DIR");
            }
            if (result.GetValue(node) is { } folder)
            {
                if ((rights & PassportRights.Storage) == 0)
                {
                    return reporter.Fail(ExitCodes.Usage, "a node's passport lets it store data: --allow storage");
                }
                return await IssueForNodeAsync(reporter, connection, folder, grants, validFor, result.GetValue(network)!, token).ConfigureAwait(false);
            }
            return await IssueAsync(reporter, connection, result.GetValue(user)!, grants, validFor, result.GetValue(network)!,
                result.GetValue(output), previous: null, token).ConfigureAwait(false);
        }, token));
        return command;
    }

    private Command BuildGrant()
    {
        var user = UserOption("The user to grant rights to");
        var prefix = new Option<string>("--prefix") { Description = "The key prefix the rights apply to", HelpName = "prefix", Required = true };
        var read = new Option<bool>("--read") { Description = "Grant read on the prefix" };
        var write = new Option<bool>("--write") { Description = "Grant write on the prefix" };
        var network = NetworkOption();
        var output = new Option<string?>("--out") { Description = "Also write the new passport to this file", HelpName = "file" };
        var command = new Command("grant", "Grant a user read or write on a key prefix (etcd-style range rights): signs, with --as, a new passport holding the user's stored grants and this one")
        {
            user, prefix, read, write, network, output,
        };
        command.SetAction((result, token) => Run(result, async reporter =>
        {
            var rights = (result.GetValue(read) ? PassportRights.Read : PassportRights.None) | (result.GetValue(write) ? PassportRights.Write : PassportRights.None);
            if (rights == PassportRights.None)
            {
                return reporter.Fail(ExitCodes.Usage, "memo kv grant needs --read, --write or both");
            }
            var connection = _global.Bind(result);
            var name = result.GetValue(user)!;
            var previous = connection.Users.TryLoadPassport(name);
            var grants = new List<PassportGrantRule>();
            if (previous is not null)
            {
                grants.AddRange(PassportBody.Parser.ParseFrom(previous.Body).Grants.Select(g => new PassportGrantRule((PassportRights)g.Rights, g.Prefix)));
            }
            grants.Add(new PassportGrantRule(rights, result.GetValue(prefix)!));
            return await IssueAsync(reporter, connection, name, grants, TimeSpan.Zero, result.GetValue(network)!, result.GetValue(output), previous, token).ConfigureAwait(false);
        }, token));
        return command;
    }

    // A storage passport for the node whose data folder is `folder`: for the public half of its node.key, written into
    // the folder where the node reads it at start (it is not a user: nothing goes to the config folder).
    private async Task<int> IssueForNodeAsync(Reporter reporter, ConnectionSettings connection, string folder, IReadOnlyList<PassportGrantRule> grants, TimeSpan validFor,
        string network, CancellationToken cancellationToken)
    {
        if (connection.As is null)
        {
            return reporter.Fail(ExitCodes.Usage, "a passport is signed by --as: the network owner, or a delegate holding sign");
        }
        var store = connection.Users;
        using var issuer = store.LoadKey(connection.As);
        MemoPublicKey nodeKey;
        using (var key = CertificateCommands.LoadOrCreateNodeKey(folder))
        {
            nodeKey = MemoPublicKey.FromSpki(key.ExportSubjectPublicKeyInfo());
        }
        var now = DateTimeOffset.UtcNow;
        var name = "node " + Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        var passport = PassportIssuer.Issue(issuer, nodeKey, name, network, grants, now.ToUnixTimeMilliseconds(),
            validFor == TimeSpan.Zero ? 0 : (now + validFor).ToUnixTimeMilliseconds(), store.TryLoadPassport(connection.As));
        var path = Path.Combine(folder, StorageTicket.FileName);
        await File.WriteAllBytesAsync(path, Google.Protobuf.MessageExtensions.ToByteArray(passport), cancellationToken).ConfigureAwait(false);
        var id = Convert.ToHexStringLower(PassportIssuer.IdOf(passport));
        _io.WriteLine(connection.Json
            ? Json.Write(w =>
            {
                w.WriteString("id", id);
                w.WriteString("node", nodeKey.ToString());
                w.WriteString("network", network);
                w.WriteString("grants", string.Join("; ", grants));
                w.WriteString("file", path);
            })
            : $"passport {id} for {name} ({nodeKey}) on {network}: {string.Join("; ", grants)}{Environment.NewLine}{path}");
        return ExitCodes.Ok;
    }

    private async Task<int> IssueAsync(Reporter reporter, ConnectionSettings connection, string name, IReadOnlyList<PassportGrantRule> grants, TimeSpan validFor,
        string network, string? output, Passport? previous, CancellationToken cancellationToken)
    {
        if (connection.As is null)
        {
            return reporter.Fail(ExitCodes.Usage, "a passport is signed by --as: the network owner, or a delegate holding sign");
        }
        var store = connection.Users;
        using var issuer = store.LoadKey(connection.As);
        // Not known here: the user block the issuer published, read as the issuer when it holds a passport (a network
        // with an owner reads nothing anonymously), else anonymously.
        var user = store.TryGet(name)?.Key
            ?? await UserCommands.LookupAsync(connection with { As = store.TryLoadPassport(connection.As) is null ? null : connection.As }, name, issuer.PublicKey,
                cancellationToken).ConfigureAwait(false);
        if (user is null)
        {
            return reporter.Fail(ExitCodes.NotFound, $"no user '{name}' in the config folder, nor a user block for it published by {connection.As}");
        }
        // A delegate's passport goes with what it signs; the owner's own passport, if it has one, changes nothing.
        var delegation = store.TryLoadPassport(connection.As);
        var now = DateTimeOffset.UtcNow;
        var passport = PassportIssuer.Issue(issuer, user, name, network, grants, now.ToUnixTimeMilliseconds(),
            validFor == TimeSpan.Zero ? 0 : (now + validFor).ToUnixTimeMilliseconds(), delegation);
        var path = store.SavePassport(name, passport);
        if (output is not null)
        {
            await File.WriteAllBytesAsync(output, Google.Protobuf.MessageExtensions.ToByteArray(passport), cancellationToken).ConfigureAwait(false);
        }
        var body = PassportBody.Parser.ParseFrom(passport.Body);
        var id = Convert.ToHexStringLower(body.Id.Span);
        var replaced = previous is null ? null : Convert.ToHexStringLower(PassportIssuer.IdOf(previous));
        if (connection.Json)
        {
            _io.WriteLine(Json.Write(w =>
            {
                w.WriteString("id", id);
                w.WriteString("user", name);
                w.WriteString("network", network);
                w.WriteString("grants", string.Join("; ", grants));
                w.WriteNumber("expires_unix_ms", body.ExpiresUnixMs);
                w.WriteString("file", output ?? path);
                if (replaced is not null)
                {
                    w.WriteString("replaces", replaced);
                }
            }));
        }
        else
        {
            _io.WriteLine($"passport {id} for {name} on {network}: {string.Join("; ", grants)}" + (body.ExpiresUnixMs == 0 ? "" : $", until {DateTimeOffset.FromUnixTimeMilliseconds(body.ExpiresUnixMs):u}"));
            _io.WriteLine(output ?? path);
            if (replaced is not null)
            {
                _io.Stderr.WriteLine($"the previous passport {replaced} stays valid until revoked: memo passport revoke --id {replaced} --as {connection.As}");
            }
        }
        return ExitCodes.Ok;
    }

    private Command BuildImport()
    {
        var file = new Argument<string>("file") { Description = "The passport file (memo passport create --out)" };
        var user = new Option<string?>("--user") { Description = "Store it for this user (default: the name the passport gives)", HelpName = "name" };
        var command = new Command("import", "Store a passport someone signed for you, so --as USER presents it") { file, user };
        command.SetAction((result, token) => Run(result, reporter =>
        {
            var store = _global.Bind(result).Users;
            var passport = UserStore.LoadPassportFile(result.GetValue(file)!);
            var body = PassportBody.Parser.ParseFrom(passport.Body);
            var name = result.GetValue(user) ?? body.UserName;
            if (store.TryGet(name) is { } known && !known.Key.Matches(body.User.Span))
            {
                return reporter.Fail(ExitCodes.Rejected, $"the passport is for another key than user '{name}' ({known.Fingerprint})");
            }
            _io.WriteLine(store.SavePassport(name, passport));
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Command BuildShow()
    {
        var user = new Argument<string?>("user") { Description = "The user whose stored passport to show", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<string?>("--file") { Description = "Show this passport file instead", HelpName = "file" };
        var command = new Command("show", "Show a passport: id, user, network, grants, expiry, issuer, delegations") { user, file };
        command.SetAction((result, token) => Run(result, reporter =>
        {
            var store = _global.Bind(result).Users;
            var passport = result.GetValue(file) is { } path ? UserStore.LoadPassportFile(path)
                : result.GetValue(user) is { } name ? store.TryLoadPassport(name) ?? throw new UserStoreException($"no passport stored for '{name}'")
                : null;
            if (passport is null)
            {
                return reporter.Fail(ExitCodes.Usage, "memo passport show needs a user or --file");
            }
            var depth = 0;
            for (var p = passport; p is not null; p = p.Delegation, depth++)
            {
                var body = PassportBody.Parser.ParseFrom(p.Body);
                var line = $"{(depth == 0 ? "passport" : "delegated by")} {Convert.ToHexStringLower(body.Id.Span)}: {body.UserName} ({MemoPublicKey.FromSpki(body.User.Span)}) on {body.Network}: "
                    + string.Join("; ", body.Grants.Select(g => new PassportGrantRule((PassportRights)g.Rights, g.Prefix)))
                    + (body.ExpiresUnixMs == 0 ? "" : $", until {DateTimeOffset.FromUnixTimeMilliseconds(body.ExpiresUnixMs):u}")
                    + $", signed by {MemoPublicKey.FromSpki(body.Issuer.Span)}";
                _io.WriteLine(_global.Bind(result).Json
                    ? Json.Write(w =>
                    {
                        w.WriteString("id", Convert.ToHexStringLower(body.Id.Span));
                        w.WriteString("user", body.UserName);
                        w.WriteString("network", body.Network);
                        w.WriteNumber("depth", depth);
                        w.WriteString("grants", string.Join("; ", body.Grants.Select(g => new PassportGrantRule((PassportRights)g.Rights, g.Prefix))));
                        w.WriteNumber("expires_unix_ms", body.ExpiresUnixMs);
                    })
                    : line);
            }
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Command BuildRevoke()
    {
        var user = new Option<string?>("--user") { Description = "Revoke the passport stored for this user", HelpName = "name" };
        var id = new Option<string?>("--id") { Description = "Revoke the passport with this id (32 hex digits)", HelpName = "hex" };
        var file = new Option<string?>("--file") { Description = "Revoke this passport file", HelpName = "file" };
        var network = NetworkOption();
        var command = new Command("revoke", "Revoke a passport on the network (signed by --as: the owner or an admin); every node refuses it within memo.security.revocation-refresh")
        {
            user, id, file, network,
        };
        command.SetAction((result, token) => Run(result, async reporter =>
        {
            var connection = _global.Bind(result);
            if (connection.As is null)
            {
                return reporter.Fail(ExitCodes.Usage, "a revocation is signed by --as: the network owner, or an admin");
            }
            byte[] passportId;
            if (result.GetValue(id) is { } hex)
            {
                try
                {
                    passportId = Convert.FromHexString(hex);
                }
                catch (FormatException)
                {
                    return reporter.Fail(ExitCodes.Usage, $"--id '{hex}' is not hex");
                }
            }
            else if (result.GetValue(file) is { } path)
            {
                passportId = PassportIssuer.IdOf(UserStore.LoadPassportFile(path));
            }
            else if (result.GetValue(user) is { } name)
            {
                passportId = PassportIssuer.IdOf(connection.Users.TryLoadPassport(name) ?? throw new UserStoreException($"no passport stored for '{name}'"));
            }
            else
            {
                return reporter.Fail(ExitCodes.Usage, "memo passport revoke needs --user, --id or --file");
            }
            if (passportId.Length != PassportVerifier.IdBytes)
            {
                return reporter.Fail(ExitCodes.Usage, $"a passport id is {PassportVerifier.IdBytes} bytes ({PassportVerifier.IdBytes * 2} hex digits)");
            }
            using var issuer = connection.Users.LoadKey(connection.As);
            var revocation = PassportIssuer.Revoke(issuer, passportId, result.GetValue(network)!, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                connection.Users.TryLoadPassport(connection.As));
            using var client = (connection with { As = null }).Connect();
            await new Passports.PassportsClient(client.Channel).RevokeAsync(new RevokeRequest { Revocation = revocation },
                deadline: DateTime.UtcNow + connection.Timeout, cancellationToken: token).ResponseAsync.ConfigureAwait(false);
            var shown = Convert.ToHexStringLower(passportId);
            _io.WriteLine(connection.Json ? Json.Write(w => { w.WriteString("revoked", shown); }) : $"revoked {shown}");
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Task<int> Run(ParseResult result, Func<Reporter, int> body, CancellationToken cancellationToken) =>
        Run(result, reporter => Task.FromResult(body(reporter)), cancellationToken);

    private Task<int> Run(ParseResult result, Func<Reporter, Task<int>> body, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, _global.Bind(result), body, cancellationToken);
}
