using System.CommandLine;
using Google.Protobuf;
using Memo.Cli.Output;
using Memo.Cli.Users;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo user create|show|export|import|publish|lookup</c>: users are P-256 key pairs in the config folder
/// (<see cref="UserStore"/>); a user block (a named block <c>memo/user/NAME</c> signed by its publisher, usually the
/// network owner) lets others find a user's key by name.
/// </summary>
internal sealed class UserCommands
{
    /// <summary>The prefix of a user block's name.</summary>
    public const string UserBlockPrefix = "memo/user/";

    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public UserCommands(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Command = new Command("user", "Users: key pairs in the config folder (--home), their public keys, user blocks")
        {
            BuildCreate(), BuildShow(), BuildExport(), BuildImport(), BuildPublish(), BuildLookup(),
        };
    }

    /// <summary>The <c>user</c> command.</summary>
    public Command Command { get; }

    private static Argument<string> NameArgument(string description) => new("name") { Description = description };

    private Command BuildCreate()
    {
        var name = NameArgument("The new user's name (letters, digits, '-', '_', '.')");
        var command = new Command("create", "Make a user: a fresh P-256 key pair, the private key 0600 in the config folder") { name };
        command.SetAction((result, token) => Run(result, reporter =>
        {
            var store = _global.Bind(result).Users;
            var user = store.Create(result.GetValue(name)!);
            Print(result, user, store);
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Command BuildShow()
    {
        var name = new Argument<string?>("name") { Description = "The user (default: every user in the config folder)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("show", "Show a user (name, key fingerprint, whether its private key is here, its passport), or all") { name };
        command.SetAction((result, token) => Run(result, reporter =>
        {
            var store = _global.Bind(result).Users;
            if (result.GetValue(name) is { } one)
            {
                Print(result, store.Get(one), store);
                return ExitCodes.Ok;
            }
            foreach (var user in store.All())
            {
                Print(result, user, store);
            }
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Command BuildExport()
    {
        var name = NameArgument("The user whose public key to print");
        var output = new Option<string?>("--out") { Description = "Write the PEM to this file instead of standard output", HelpName = "file" };
        var command = new Command("export", "Print a user's public key (PEM PUBLIC KEY): what others import, what a network's owner key is") { name, output };
        command.SetAction((result, token) => Run(result, reporter =>
        {
            var user = _global.Bind(result).Users.Get(result.GetValue(name)!);
            if (result.GetValue(output) is { } file)
            {
                File.WriteAllText(file, user.ToPem());
                _io.WriteLine(file);
            }
            else
            {
                _io.Out.Write(user.ToPem());
            }
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Command BuildImport()
    {
        var name = NameArgument("The name to know the user by here");
        var file = new Argument<string>("file") { Description = "The user's public key (PEM, from memo user export)" };
        var command = new Command("import", "Record another user's public key under a name") { name, file };
        command.SetAction((result, token) => Run(result, reporter =>
        {
            var store = _global.Bind(result).Users;
            MemoPublicKey key;
            try
            {
                key = MemoUser.PublicKeyFromPem(File.ReadAllText(result.GetValue(file)!));
            }
            catch (FormatException e)
            {
                return reporter.Fail(ExitCodes.Usage, $"{result.GetValue(file)} holds no P-256 public key: {Errors.Describe(e)}");
            }
            Print(result, store.Import(result.GetValue(name)!, key), store);
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Command BuildPublish()
    {
        var name = NameArgument("The user to publish");
        var command = new Command("publish", "Store a user block: the named block memo/user/NAME holding the user's key, signed by --as (the network owner, usually)") { name };
        command.SetAction((result, token) => Run(result, async reporter =>
        {
            var connection = _global.Bind(result);
            if (connection.As is null)
            {
                return reporter.Fail(ExitCodes.Usage, "memo user publish needs --as: the user block is signed by its publisher");
            }
            var user = connection.Users.Get(result.GetValue(name)!);
            using var publisher = connection.Users.LoadKey(connection.As);
            var block = BlockFactory.MakeNamed(publisher, System.Text.Encoding.UTF8.GetBytes(UserBlockPrefix + user.Name), user.Key.Spki.Span);
            using var client = connection.Connect();
            await client.InsertBlockAsync(block, token).ConfigureAwait(false);
            var address = BlockAddress.FromBytes(block.Address.Span);
            _io.WriteLine(connection.Json
                ? Json.Write(w => { w.WriteString("user", user.Name); w.WriteString("address", address.ToString()); w.WriteString("publisher", connection.As); })
                : address.ToString());
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    private Command BuildLookup()
    {
        var name = NameArgument("The user to find");
        var publisher = new Option<string>("--publisher") { Description = "The user (a name in the config folder) that published the user block: the network owner, usually", HelpName = "user", Required = true };
        var import = new Option<bool>("--import") { Description = "Also record the key found under the name (memo user import)" };
        var command = new Command("lookup", "Read a user's key from its user block on the network (memo user publish)") { name, publisher, import };
        command.SetAction((result, token) => Run(result, async reporter =>
        {
            var connection = _global.Bind(result);
            var key = await LookupAsync(connection, result.GetValue(name)!, connection.Users.Get(result.GetValue(publisher)!).Key, token).ConfigureAwait(false);
            if (key is null)
            {
                return reporter.Fail(ExitCodes.NotFound, $"no user block for '{result.GetValue(name)}' published by {result.GetValue(publisher)}");
            }
            var user = result.GetValue(import) ? connection.Users.Import(result.GetValue(name)!, key) : new MemoUser(result.GetValue(name)!, key);
            Print(result, user, connection.Users);
            return ExitCodes.Ok;
        }, token));
        return command;
    }

    /// <summary>The key in <paramref name="name"/>'s user block published by <paramref name="publisher"/>, or null.</summary>
    public static async Task<MemoPublicKey?> LookupAsync(ConnectionSettings connection, string name, MemoPublicKey publisher, CancellationToken cancellationToken)
    {
        using var client = connection.Connect();
        var address = BlockAddresses.Named(publisher, System.Text.Encoding.UTF8.GetBytes(UserBlockPrefix + name));
        var block = await client.FetchBlockAsync(address, cancellationToken).ConfigureAwait(false);
        return block is not null && MemoPublicKey.TryFromSpki(block.Data.Span, out var key) ? key : null;
    }

    private void Print(ParseResult result, MemoUser user, UserStore store)
    {
        var passport = store.TryLoadPassport(user.Name);
        var body = passport is null ? null : PassportBody.Parser.ParseFrom(passport.Body);
        if (result.GetValue(_global.Json))
        {
            _io.WriteLine(Json.Write(w =>
            {
                w.WriteString("name", user.Name);
                w.WriteString("fingerprint", user.Fingerprint);
                w.WriteString("key", Convert.ToBase64String(user.Key.Spki.Span));
                w.WriteBoolean("private_key", store.HasKey(user.Name));
                if (body is not null)
                {
                    w.WriteString("passport", Convert.ToHexStringLower(body.Id.Span));
                    w.WriteString("network", body.Network);
                }
            }));
            return;
        }
        _io.WriteLine($"{user.Name}\t{user.Fingerprint}\t{(store.HasKey(user.Name) ? "key pair" : "public key")}"
            + (body is null ? "" : $"\tpassport {Convert.ToHexStringLower(body.Id.Span)} on {body.Network}: {string.Join("; ", body.Grants.Select(g => new PassportGrantRule((PassportRights)g.Rights, g.Prefix)))}"));
    }

    private Task<int> Run(ParseResult result, Func<Reporter, int> body, CancellationToken cancellationToken) =>
        Run(result, reporter => Task.FromResult(body(reporter)), cancellationToken);

    private Task<int> Run(ParseResult result, Func<Reporter, Task<int>> body, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, _global.Bind(result), body, cancellationToken);
}
