using System.Security.Cryptography;
using Memo.Protocol.Blocks;
using Memo.Protocol.Security;

namespace Memo.Cli.Input;

/// <summary>
/// Reads the key files the ACB commands take: a user's private key (<c>--key</c>: PEM PKCS#8, encrypted ones opened
/// with <c>MEMO_KEY_PASSPHRASE</c>) and other users' public keys (<c>--user</c>: PEM <c>PUBLIC KEY</c>, or a private key
/// file whose public half is meant). Every failure is a <see cref="CertificateFileException"/> naming the file, which
/// the CLI reports as a usage error.
/// </summary>
internal static class UserKeyFiles
{
    /// <summary>The P-256 key pair in <paramref name="path"/>.</summary>
    public static MemoKeyPair LoadKeyPair(string path, Func<string, string?> environment)
    {
        using var ecdsa = PemFiles.ReadKey(ReadText(path), path, environment(PemFiles.PassphraseVariable));
        try
        {
            return MemoKeyPair.FromPkcs8(ecdsa.ExportPkcs8PrivateKey());
        }
        catch (FormatException e)
        {
            throw new CertificateFileException($"the key {path} is not a P-256 key: {e.Message}", e);
        }
    }

    /// <summary>The P-256 public key in <paramref name="path"/> (a public key, or the public half of a private key).</summary>
    public static MemoPublicKey LoadPublicKey(string path, Func<string, string?> environment)
    {
        var text = ReadText(path);
        if (!text.Contains("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal))
        {
            using var pair = LoadKeyPair(path, environment);
            return pair.PublicKey;
        }
        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(text);
            return MemoPublicKey.FromSpki(ecdsa.ExportSubjectPublicKeyInfo());
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException)
        {
            throw new CertificateFileException($"the public key {path} is not a P-256 key: {e.Message}", e);
        }
    }

    /// <summary>The PEM text of <paramref name="key"/>'s public half, as <c>--user</c> reads it.</summary>
    public static string PublicKeyPem(MemoPublicKey key) => PemEncoding.WriteString("PUBLIC KEY", key.Spki.Span);

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateFileException($"cannot read the key file {path}: {e.Message}", e);
        }
    }
}
