using System.Security.Cryptography;
using System.Text;
using Memo.Protocol.Blocks;

namespace Memo.Node.Hosting;

/// <summary>
/// The node's key pair, created at first start as <c>node.key</c> (PKCS#8 PEM, mode 0600) in the data folder. The
/// node owns the blocks it makes for clients that send unsigned data, and signs them with this key, so losing the
/// file loses the right to update or delete those blocks, and whoever reads it can act as the node.
/// </summary>
/// <remarks>
/// On Unix a key file that any other user may read or write (group or other permission bits) stops the node with
/// the <c>chmod</c> to run: a key others could read is no longer the node's alone. With
/// <see cref="PassphraseVariable"/> set, a new key is written encrypted (PKCS#8 PBES2: PBKDF2-HMAC-SHA256,
/// <see cref="PassphraseIterations"/> rounds, AES-256-CBC) and an encrypted key is decrypted with it; an encrypted
/// key without the variable, or a plain key with it, stops the node with what to do.
/// </remarks>
public static class NodeIdentity
{
    /// <summary>The key file's name inside the data folder.</summary>
    public const string FileName = "node.key";

    /// <summary>The environment variable holding the key file's passphrase (unset: the key is stored unencrypted).</summary>
    public const string PassphraseVariable = "MEMO_KEY_PASSPHRASE";

    /// <summary>PBKDF2-HMAC-SHA256 rounds for a new encrypted key (OWASP's 2023 figure); a start pays them once.</summary>
    public const int PassphraseIterations = 600_000;

    private const string PlainLabel = "PRIVATE KEY";
    private const string EncryptedLabel = "ENCRYPTED PRIVATE KEY";

    /// <summary>Loads the node key, creating it when absent, with the passphrase from <see cref="PassphraseVariable"/>.</summary>
    /// <exception cref="NodeKeyException">The file's permissions or encryption do not allow using it; the message names the fix.</exception>
    /// <exception cref="InvalidDataException">The file is not a key.</exception>
    public static MemoKeyPair LoadOrCreate(DataFolder folder) =>
        LoadOrCreate(folder, Environment.GetEnvironmentVariable(PassphraseVariable));

    /// <summary>
    /// Loads the node key, creating it (atomically: write, flush, rename) when absent; encrypted with
    /// <paramref name="passphrase"/> when one is given (null or empty: none).
    /// </summary>
    /// <exception cref="NodeKeyException">The file's permissions or encryption do not allow using it; the message names the fix.</exception>
    /// <exception cref="InvalidDataException">The file is not a key.</exception>
    public static MemoKeyPair LoadOrCreate(DataFolder folder, string? passphrase)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = folder.File(FileName);
        if (string.IsNullOrEmpty(passphrase))
        {
            passphrase = null;
        }
        return File.Exists(path) ? Load(path, passphrase) : Create(path, passphrase);
    }

    private static MemoKeyPair Load(string path, string? passphrase)
    {
        CheckOwnerOnly(path);
        string pem;
        PemFields fields;
        try
        {
            pem = File.ReadAllText(path);
            fields = PemEncoding.Find(pem);
        }
        catch (ArgumentException e)
        {
            throw Corrupt(path, "no PEM block", e);
        }
        var label = pem.AsSpan()[fields.Label];
        byte[] der;
        try
        {
            der = Convert.FromBase64String(pem[fields.Base64Data]);
        }
        catch (FormatException e)
        {
            throw Corrupt(path, "bad base64", e);
        }
        if (label.SequenceEqual(EncryptedLabel))
        {
            if (passphrase is null)
            {
                throw new NodeKeyException($"The node key {path} is encrypted; set {PassphraseVariable} to its passphrase.");
            }
            try
            {
                return MemoKeyPair.FromEncryptedPkcs8(passphrase, der);
            }
            catch (FormatException e)
            {
                throw new NodeKeyException($"The passphrase in {PassphraseVariable} does not decrypt the node key {path} (or the file is damaged).", e);
            }
        }
        if (!label.SequenceEqual(PlainLabel))
        {
            throw Corrupt(path, $"a '{label}' PEM block, not {PlainLabel} or {EncryptedLabel}", null);
        }
        if (passphrase is not null)
        {
            throw new NodeKeyException(
                $"{PassphraseVariable} is set but the node key {path} is not encrypted. Encrypt it with " +
                $"`openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -in {path} -out {path}.enc && mv {path}.enc {path} && chmod 600 {path}`, " +
                $"or unset {PassphraseVariable}.");
        }
        try
        {
            return MemoKeyPair.FromPkcs8(der);
        }
        catch (FormatException e)
        {
            throw Corrupt(path, e.Message, e);
        }
    }

    private static MemoKeyPair Create(string path, string? passphrase)
    {
        var key = MemoKeyPair.Generate();
        var text = passphrase is null
            ? PemEncoding.WriteString(PlainLabel, key.ExportPkcs8())
            : PemEncoding.WriteString(EncryptedLabel, key.ExportEncryptedPkcs8(passphrase, PassphraseIterations));
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, options))
        {
            if (!OperatingSystem.IsWindows())
            {
                // A .tmp left behind by a crash keeps its old mode (the create mode applies to new files only).
                File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            stream.Write(Encoding.ASCII.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return key;
    }

    // Group or other bits of any kind: a key others may read is theirs too, one they may write can be swapped.
    private static void CheckOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(path);
        if ((mode & others) != 0)
        {
            throw new NodeKeyException(
                $"The node key {path} is accessible by other users (mode {Octal(mode)}); it must be readable by its owner only. Run: chmod 600 {path}");
        }
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');

    private static InvalidDataException Corrupt(string path, string problem, Exception? inner) =>
        new($"The node key {path} is corrupt ({problem}). Restore it from a backup; deleting it gives the node a new identity that does not own its earlier blocks.", inner);
}
