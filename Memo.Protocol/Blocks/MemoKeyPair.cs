using System.Security.Cryptography;

namespace Memo.Protocol.Blocks;

/// <summary>
/// An ECDSA P-256 key pair: a user's or a node's identity. Signs with SHA-256 and produces IEEE P1363
/// (r ‖ s, 64 bytes) signatures. Thread-safe; dispose to release the private key.
/// </summary>
public sealed class MemoKeyPair : IDisposable
{
    private readonly ECDsa _ecdsa;
    // ECDsa instances are not documented as thread-safe; signing is serialised per key pair.
    private readonly Lock _lock = new();
    private bool _disposed;

    private MemoKeyPair(ECDsa ecdsa)
    {
        _ecdsa = ecdsa;
        PublicKey = MemoPublicKey.FromTrusted(ecdsa);
    }

    /// <summary>The public half, whose SPKI goes into blocks as the owner.</summary>
    public MemoPublicKey PublicKey { get; }

    /// <summary>Generates a fresh key pair from the system CSPRNG.</summary>
    public static MemoKeyPair Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>
    /// Imports an unencrypted PKCS#8 private key. Throws <see cref="FormatException"/> when the bytes are not a
    /// P-256 key or have trailing data.
    /// </summary>
    public static MemoKeyPair FromPkcs8(ReadOnlySpan<byte> pkcs8)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out var read);
            if (read != pkcs8.Length || !MemoPublicKey.IsP256(ecdsa))
            {
                throw new FormatException("Not a P-256 private key in PKCS#8 form.");
            }
            return new MemoKeyPair(ecdsa);
        }
        catch (Exception e) when (MemoPublicKey.IsImportFailure(e))
        {
            ecdsa.Dispose();
            throw new FormatException("Not a P-256 private key in PKCS#8 form.", e);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Imports a passphrase-encrypted PKCS#8 private key (PBES2, as <see cref="ExportEncryptedPkcs8"/> or
    /// <c>openssl pkcs8 -topk8 -v2 aes-256-cbc</c> writes it). Throws <see cref="FormatException"/> when the
    /// passphrase does not decrypt the bytes or they are not a P-256 key; a wrong passphrase and a damaged file look
    /// the same to PBES2, so the message names both.
    /// </summary>
    public static MemoKeyPair FromEncryptedPkcs8(ReadOnlySpan<char> passphrase, ReadOnlySpan<byte> encryptedPkcs8)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportEncryptedPkcs8PrivateKey(passphrase, encryptedPkcs8, out var read);
            if (read != encryptedPkcs8.Length || !MemoPublicKey.IsP256(ecdsa))
            {
                throw new FormatException("Not a P-256 private key in encrypted PKCS#8 form.");
            }
            return new MemoKeyPair(ecdsa);
        }
        catch (Exception e) when (MemoPublicKey.IsImportFailure(e))
        {
            ecdsa.Dispose();
            throw new FormatException("The passphrase does not decrypt the key, or the bytes are not an encrypted P-256 PKCS#8 key.", e);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The private key as PKCS#8 encrypted with <paramref name="passphrase"/> (PBES2: PBKDF2-HMAC-SHA256 with
    /// <paramref name="iterations"/> rounds, AES-256-CBC), for storing at rest.
    /// </summary>
    public byte[] ExportEncryptedPkcs8(ReadOnlySpan<char> passphrase, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _ecdsa.ExportEncryptedPkcs8PrivateKey(passphrase, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, iterations));
        }
    }

    /// <summary>The private key as unencrypted PKCS#8; the caller protects it at rest.</summary>
    public byte[] ExportPkcs8()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _ecdsa.ExportPkcs8PrivateKey();
        }
    }

    /// <summary>Signs <paramref name="data"/> (ECDSA P-256, SHA-256), returning a 64-byte IEEE P1363 signature.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _ecdsa.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    /// <summary>
    /// Signs a SHA-256 digest computed by the caller; the same signature <see cref="Sign"/> makes over the digested
    /// bytes. Lets large signed messages be hashed incrementally instead of copied.
    /// </summary>
    public byte[] SignDigest(ReadOnlySpan<byte> sha256Digest)
    {
        if (sha256Digest.Length != 32)
        {
            throw new ArgumentException("A SHA-256 digest is 32 bytes.", nameof(sha256Digest));
        }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _ecdsa.SignHash(sha256Digest, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _ecdsa.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => PublicKey.ToString();
}
