using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Acl;

// Design note: wrapping a key for a P-256 public key.
//
// memo wrapped an ACB's secret for each reader with RSA (PKCS#1 v1.5). Users here are P-256 keys, which do not
// encrypt, so a key is wrapped ECIES-style:
//
//   e        a fresh ephemeral P-256 key pair (one per wrap)
//   Z        = ECDH(e, recipient)                                  (raw x coordinate, 32 bytes)
//   KEK      = HKDF-SHA256(IKM = Z, salt = none, info = "memo/wrap/1" 0x00 ‖ E ‖ recipient SPKI, 32 bytes)
//   token    = 0x01 ‖ E ‖ AES-256-GCM(KEK, nonce = 0^96, secret) ‖ tag(16)     with E = 0x04 ‖ X ‖ Y of e (65 bytes)
//
// The KEK is used once (e is fresh), so a fixed nonce is safe. Binding E and the recipient's key into the KDF makes
// a token valid for one recipient only, and the GCM tag makes a wrong key or a tampered token fail to open rather
// than yield garbage. The recipient's key is its ECDSA identity key used for ECDH as well: one key pair per user, as
// the issue asks (a user is a P-256 key). The two uses share no message formats (ECDSA signs hashes of
// domain-separated bytes; ECDH feeds only HKDF), which is the usual condition for such reuse.

/// <summary>Wraps a secret (a data key, a group's private key) for a P-256 public key, and unwraps it with the private key.</summary>
public static class KeyWrapping
{
    /// <summary>Format byte of a token.</summary>
    public const byte Format = 1;

    private const int PointBytes = 65;
    private const int TagBytes = 16;
    private static readonly byte[] Domain = "memo/wrap/1\0"u8.ToArray();

    /// <summary>The token wrapping <paramref name="secret"/> for <paramref name="recipient"/> (fresh every call).</summary>
    public static byte[] Wrap(MemoPublicKey recipient, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var peer = ECDiffieHellman.Create();
        peer.ImportSubjectPublicKeyInfo(recipient.Spki.Span, out _);
        var point = Point(ephemeral.ExportParameters(false));
        var shared = ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
        var token = new byte[1 + PointBytes + secret.Length + TagBytes];
        token[0] = Format;
        point.CopyTo(token.AsSpan(1));
        using var aes = new AesGcm(Kek(shared, point, recipient.Spki.Span), TagBytes);
        aes.Encrypt(stackalloc byte[12], secret, token.AsSpan(1 + PointBytes, secret.Length), token.AsSpan(1 + PointBytes + secret.Length));
        CryptographicOperations.ZeroMemory(shared);
        return token;
    }

    /// <summary>
    /// Opens <paramref name="token"/> with <paramref name="recipient"/>'s private key. False (never throws) when the
    /// token is for another key, tampered with, truncated or of an unknown format.
    /// </summary>
    public static bool TryUnwrap(ECDiffieHellman recipient, ReadOnlySpan<byte> token, [NotNullWhen(true)] out byte[]? secret)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        secret = null;
        if (token.Length < 1 + PointBytes + TagBytes || token[0] != Format || token[1] != 0x04)
        {
            return false;
        }
        var point = token.Slice(1, PointBytes);
        try
        {
            using var ephemeral = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point.Slice(1, 32).ToArray(), Y = point.Slice(33, 32).ToArray() },
            });
            var shared = recipient.DeriveRawSecretAgreement(ephemeral.PublicKey);
            var sealedBytes = token[(1 + PointBytes)..];
            var plain = new byte[sealedBytes.Length - TagBytes];
            using var aes = new AesGcm(Kek(shared, point, recipient.ExportSubjectPublicKeyInfo()), TagBytes);
            CryptographicOperations.ZeroMemory(shared);
            aes.Decrypt(stackalloc byte[12], sealedBytes[..plain.Length], sealedBytes[plain.Length..], plain);
            secret = plain;
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or PlatformNotSupportedException)
        {
            // A point not on the curve, or a tag that does not verify (wrong key, tampered token).
            return false;
        }
    }

    /// <summary>The ECDH form of a user's key pair, for <see cref="TryUnwrap"/>. Dispose it after use.</summary>
    public static ECDiffieHellman AgreementKey(MemoKeyPair keyPair)
    {
        ArgumentNullException.ThrowIfNull(keyPair);
        var pkcs8 = keyPair.ExportPkcs8();
        try
        {
            return AgreementKey(pkcs8);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>The ECDH key of a PKCS#8 P-256 private key (a group generation's key). Throws <see cref="CryptographicException"/> on bad bytes.</summary>
    public static ECDiffieHellman AgreementKey(ReadOnlySpan<byte> pkcs8)
    {
        var ecdh = ECDiffieHellman.Create();
        try
        {
            ecdh.ImportPkcs8PrivateKey(pkcs8, out _);
            return ecdh;
        }
        catch
        {
            ecdh.Dispose();
            throw;
        }
    }

    private static byte[] Kek(byte[] shared, ReadOnlySpan<byte> point, ReadOnlySpan<byte> recipientSpki)
    {
        var info = new byte[Domain.Length + point.Length + recipientSpki.Length];
        Domain.CopyTo(info, 0);
        point.CopyTo(info.AsSpan(Domain.Length));
        recipientSpki.CopyTo(info.AsSpan(Domain.Length + point.Length));
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, [], info);
    }

    private static byte[] Point(ECParameters parameters)
    {
        var point = new byte[PointBytes];
        point[0] = 0x04;
        parameters.Q.X!.CopyTo(point, 1);
        parameters.Q.Y!.CopyTo(point, 33);
        return point;
    }
}
