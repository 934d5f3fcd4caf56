using System.Security.Cryptography;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;

namespace Memo.Cli.Users;

/// <summary>
/// The CLI's config folder (<c>--home</c>, <c>$MEMO_HOME</c>, else <c>$XDG_CONFIG_HOME/memo</c> or <c>~/.config/memo</c>):
/// <c>users/NAME.key</c> (the user's P-256 private key, PKCS#8 PEM, 0600), <c>users/NAME.pub</c> (its public key, PEM;
/// alone for an imported user), <c>passports/NAME.passport</c> (the user's passport, protobuf, 0600). Folders are 0700.
/// </summary>
internal sealed class UserStore(string home)
{
    /// <summary>The environment variable that names the folder.</summary>
    public const string HomeVariable = "MEMO_HOME";

    /// <summary>The folder.</summary>
    public string Home { get; } = home;

    private string UsersFolder => Path.Combine(Home, "users");

    private string PassportsFolder => Path.Combine(Home, "passports");

    /// <summary>The default folder: <c>$MEMO_HOME</c>, <c>$XDG_CONFIG_HOME/memo</c>, else <c>~/.config/memo</c>.</summary>
    public static string DefaultHome(Func<string, string?> environment)
    {
        if (environment(HomeVariable) is { Length: > 0 } home)
        {
            return home;
        }
        if (environment("XDG_CONFIG_HOME") is { Length: > 0 } config)
        {
            return Path.Combine(config, "memo");
        }
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "memo");
    }

    /// <summary>The private key file of <paramref name="name"/>.</summary>
    public string KeyPath(string name) => Path.Combine(UsersFolder, CheckName(name) + ".key");

    /// <summary>The public key file of <paramref name="name"/>.</summary>
    public string PublicKeyPath(string name) => Path.Combine(UsersFolder, CheckName(name) + ".pub");

    /// <summary>The passport file of <paramref name="name"/>.</summary>
    public string PassportPath(string name) => Path.Combine(PassportsFolder, CheckName(name) + ".passport");

    /// <summary>Makes a user: a fresh key pair, the private key 0600. Throws when the user exists.</summary>
    public MemoUser Create(string name)
    {
        if (File.Exists(PublicKeyPath(name)) || File.Exists(KeyPath(name)))
        {
            throw new UserStoreException($"user '{name}' already exists in {UsersFolder}");
        }
        using var key = MemoKeyPair.Generate();
        EnsureFolder(UsersFolder);
        WritePrivate(KeyPath(name), System.Text.Encoding.ASCII.GetBytes(new string(PemEncoding.Write("PRIVATE KEY", key.ExportPkcs8())) + "\n"));
        var user = new MemoUser(name, key.PublicKey);
        File.WriteAllText(PublicKeyPath(name), user.ToPem());
        return user;
    }

    /// <summary>Records another user's public key under <paramref name="name"/>. Throws when the name is taken by another key.</summary>
    public MemoUser Import(string name, MemoPublicKey key)
    {
        if (TryGet(name) is { } existing)
        {
            if (existing.Key.Equals(key))
            {
                return existing;
            }
            throw new UserStoreException($"user '{name}' already exists with another key ({existing.Fingerprint})");
        }
        EnsureFolder(UsersFolder);
        var user = new MemoUser(name, key);
        File.WriteAllText(PublicKeyPath(name), user.ToPem());
        return user;
    }

    /// <summary>The user called <paramref name="name"/>, or null.</summary>
    public MemoUser? TryGet(string name)
    {
        var path = PublicKeyPath(name);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return new MemoUser(name, MemoUser.PublicKeyFromPem(File.ReadAllText(path)));
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            throw new UserStoreException($"cannot read the public key {path}: {e.Message}", e);
        }
    }

    /// <summary>The user called <paramref name="name"/>; throws when there is none.</summary>
    public MemoUser Get(string name) =>
        TryGet(name) ?? throw new UserStoreException($"no user '{name}' in {UsersFolder} (memo user create {name}, or memo user import {name} FILE)");

    /// <summary>True when this folder holds <paramref name="name"/>'s private key.</summary>
    public bool HasKey(string name) => File.Exists(KeyPath(name));

    /// <summary>Every user in the folder, by name.</summary>
    public IReadOnlyList<MemoUser> All() =>
        !Directory.Exists(UsersFolder)
            ? []
            : Directory.GetFiles(UsersFolder, "*.pub").Select(Path.GetFileNameWithoutExtension).Where(MemoUser.IsValidName).Order(StringComparer.Ordinal)
                .Select(n => Get(n!)).ToList();

    /// <summary>The key pair of <paramref name="name"/>; throws when this folder holds only its public key, or none.</summary>
    public MemoKeyPair LoadKey(string name)
    {
        var path = KeyPath(name);
        if (!File.Exists(path))
        {
            throw new UserStoreException($"no private key for user '{name}' ({path}): only the user's own machine can act as the user");
        }
        try
        {
            var pem = File.ReadAllText(path);
            var fields = PemEncoding.Find(pem);
            return MemoKeyPair.FromPkcs8(Convert.FromBase64String(pem[fields.Base64Data]));
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new UserStoreException($"cannot read the key {path}: {e.Message}", e);
        }
    }

    /// <summary>Stores <paramref name="passport"/> as <paramref name="name"/>'s (0600).</summary>
    public string SavePassport(string name, Passport passport)
    {
        EnsureFolder(PassportsFolder);
        var path = PassportPath(name);
        WritePrivate(path, Google.Protobuf.MessageExtensions.ToByteArray(passport));
        return path;
    }

    /// <summary>The passport stored for <paramref name="name"/>, or null.</summary>
    public Passport? TryLoadPassport(string name)
    {
        var path = PassportPath(name);
        return File.Exists(path) ? LoadPassportFile(path) : null;
    }

    /// <summary>Reads a passport file.</summary>
    public static Passport LoadPassportFile(string path)
    {
        try
        {
            return Passport.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
        {
            throw new UserStoreException($"cannot read the passport {path}: {e.Message}", e);
        }
    }

    /// <summary>The credentials of <paramref name="name"/>: its key and its passport (<paramref name="passportFile"/>, else the stored one).</summary>
    public UserCredentials LoadCredentials(string name, string? passportFile)
    {
        var passport = passportFile is not null ? LoadPassportFile(passportFile)
            : TryLoadPassport(name) ?? throw new UserStoreException($"no passport for user '{name}' ({PassportPath(name)}): ask the network owner (memo passport create --user {name}), then memo passport import FILE");
        var key = LoadKey(name);
        try
        {
            return new UserCredentials(key, passport);
        }
        catch (ArgumentException e)
        {
            key.Dispose();
            throw new UserStoreException($"the passport for '{name}' is for another key: {e.Message}", e);
        }
    }

    private static string CheckName(string name) =>
        MemoUser.IsValidName(name) ? name : throw new UserStoreException($"'{name}' is not a user name (1 to {MemoUser.MaxNameBytes} letters, digits, '-', '_', '.')");

    private static void EnsureFolder(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    // Written to a temporary file created owner-only, then moved: the secret is never readable by others, even briefly.
    private static void WritePrivate(string path, byte[] bytes)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
