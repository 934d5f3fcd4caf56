using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Memo.Protocol.Security;

/// <summary>Reads and writes the PEM files of certificates and their keys: certificates world-readable, keys owner-only
/// (0600, written atomically), every failure a <see cref="CertificateFileException"/> naming the file.</summary>
public static class PemFiles
{
    /// <summary>The environment variable holding the passphrase of an encrypted key file (the node's key uses the
    /// same one).</summary>
    public const string PassphraseVariable = "MEMO_KEY_PASSPHRASE";

    /// <summary>Reads a PEM certificate (the first in the file).</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file should hold, for the error message (e.g. "CA certificate").</param>
    public static X509Certificate2 LoadCertificate(string path, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new CertificateFileException($"cannot read the {what} {path}: {e.Message}", e);
        }
    }

    /// <summary>Reads a certificate and its private key (PEM; an <c>ENCRYPTED PRIVATE KEY</c> is decrypted with
    /// <paramref name="passphrase"/>), checking that the key is the certificate's.</summary>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string keyPath, string? passphrase, string what)
    {
        ArgumentNullException.ThrowIfNull(certificatePath);
        ArgumentNullException.ThrowIfNull(keyPath);
        string keyText;
        try
        {
            keyText = File.ReadAllText(keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateFileException($"cannot read the key {keyPath} of the {what}: {e.Message}", e);
        }
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
            using var key = ReadKey(keyText, keyPath, passphrase);
            return certificate.CopyWithPrivateKey(key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new CertificateFileException($"cannot load the {what} {certificatePath} with the key {keyPath}: {e.Message}", e);
        }
    }

    /// <summary>Reads a P-256 private key (PEM, plain or encrypted with <paramref name="passphrase"/>).</summary>
    public static ECDsa ReadKey(string pem, string path, string? passphrase)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var key = ECDsa.Create();
        try
        {
            if (pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
            {
                if (string.IsNullOrEmpty(passphrase))
                {
                    throw new CertificateFileException($"the key {path} is encrypted; set {PassphraseVariable} to its passphrase");
                }
                key.ImportFromEncryptedPem(pem, passphrase);
            }
            else
            {
                key.ImportFromPem(pem);
            }
            return key;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new CertificateFileException($"the key {path} is not a readable private key: {e.Message}", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Writes a certificate as PEM (mode 0644 on Unix).</summary>
    public static void WriteCertificate(string path, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        Write(path, PemEncoding.WriteString("CERTIFICATE", certificate.RawData), ownerOnly: false);
    }

    /// <summary>Writes a private key as unencrypted PKCS#8 PEM, owner-only (0600), atomically.</summary>
    public static void WriteKey(string path, ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Write(path, PemEncoding.WriteString("PRIVATE KEY", key.ExportPkcs8PrivateKey()), ownerOnly: true);
    }

    private static void Write(string path, string text, bool ownerOnly)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        var mode = ownerOnly
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                if (!OperatingSystem.IsWindows())
                {
                    // A .tmp left behind keeps its old mode: the create mode applies to new files only.
                    File.SetUnixFileMode(stream.SafeFileHandle, mode);
                }
                stream.Write(Encoding.ASCII.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateFileException($"cannot write {path}: {e.Message}", e);
        }
    }
}
