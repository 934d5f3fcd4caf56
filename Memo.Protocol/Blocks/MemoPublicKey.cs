using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Memo.Protocol.Blocks;

/// <summary>
/// An ECDSA P-256 public key, identified by its DER SubjectPublicKeyInfo bytes. Only the canonical encoding
/// (named curve P-256, uncompressed point, no trailing bytes) is accepted, so equal keys have equal bytes and
/// the addresses derived from a key are unique. Immutable and safe to share between threads.
/// </summary>
public sealed class MemoPublicKey : IEquatable<MemoPublicKey>
{
    private const string P256Oid = "1.2.840.10045.3.1.7";

    // Validation parses the owner key of every block it sees, and a few keys (the node's, active users') recur.
    // Parsed keys are immutable, so they are shared through a bounded cache keyed by their exact bytes; when the
    // cache fills it is cleared rather than evicting precisely, which keeps it simple and its size bounded.
    private const int CacheCapacity = 4096;
    private static readonly ConcurrentDictionary<byte[], MemoPublicKey> Cache = new(SpkiComparer.Instance);
    private static readonly ConcurrentDictionary<byte[], MemoPublicKey>.AlternateLookup<ReadOnlySpan<byte>> CacheBySpan =
        Cache.GetAlternateLookup<ReadOnlySpan<byte>>();

    private readonly byte[] _spki;

    // One imported ECDsa is kept for reuse: importing costs far more than verifying. ECDsa instances are not
    // documented as thread-safe, so a verifier takes the cached instance exclusively (or imports a spare when
    // another thread holds it) and gives it back afterwards.
    private ECDsa? _cached;

    private MemoPublicKey(byte[] spki, ECDsa imported)
    {
        _spki = spki;
        _cached = imported;
    }

    /// <summary>The key as DER SubjectPublicKeyInfo (<see cref="BlockLimits.PublicKeyBytes"/> bytes).</summary>
    public ReadOnlyMemory<byte> Spki => _spki;

    /// <summary>A copy of the SubjectPublicKeyInfo bytes.</summary>
    public byte[] ToSpkiArray() => (byte[])_spki.Clone();

    /// <summary>
    /// Imports a canonical P-256 SubjectPublicKeyInfo. Returns false for malformed DER, another curve or
    /// algorithm, a point not on the curve, a non-canonical encoding or trailing bytes.
    /// </summary>
    public static bool TryFromSpki(ReadOnlySpan<byte> spki, [NotNullWhen(true)] out MemoPublicKey? key)
    {
        key = null;
        if (spki.Length != BlockLimits.PublicKeyBytes)
        {
            return false;
        }
        if (CacheBySpan.TryGetValue(spki, out key))
        {
            return true;
        }
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length || !IsP256(ecdsa) || !spki.SequenceEqual(ecdsa.ExportSubjectPublicKeyInfo()))
            {
                ecdsa.Dispose();
                return false;
            }
        }
        catch (Exception e) when (IsImportFailure(e))
        {
            ecdsa.Dispose();
            return false;
        }
        key = new MemoPublicKey(spki.ToArray(), ecdsa);
        if (Cache.Count >= CacheCapacity)
        {
            Cache.Clear();
        }
        Cache.TryAdd(key._spki, key);
        return true;
    }

    /// <summary>Imports a canonical P-256 SubjectPublicKeyInfo; throws <see cref="FormatException"/> otherwise.</summary>
    public static MemoPublicKey FromSpki(ReadOnlySpan<byte> spki) =>
        TryFromSpki(spki, out var key) ? key : throw new FormatException("Not a P-256 public key in canonical SubjectPublicKeyInfo form.");

    internal static MemoPublicKey FromTrusted(ECDsa privateKey)
    {
        var spki = privateKey.ExportSubjectPublicKeyInfo();
        var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(spki, out _);
        return new MemoPublicKey(spki, ecdsa);
    }

    // Arbitrary DER can make the platform import fail in several ways: a CryptographicException for bad
    // encodings, but also PlatformNotSupportedException for an unknown curve OID (OpenSSL) and ArgumentException
    // for inconsistent parameters.
    internal static bool IsImportFailure(Exception e) => e is CryptographicException or NotSupportedException or ArgumentException;

    internal static bool IsP256(ECDsa ecdsa)
    {
        if (ecdsa.KeySize != 256)
        {
            return false;
        }
        var curve = ecdsa.ExportParameters(false).Curve;
        return curve.IsNamed && (curve.Oid.Value == P256Oid || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "prime256v1");
    }

    /// <summary>
    /// Verifies an IEEE P1363 ECDSA-SHA256 signature over <paramref name="data"/>. Returns false (never throws)
    /// for a wrong, truncated or garbage signature.
    /// </summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != BlockLimits.SignatureBytes)
        {
            return false;
        }
        var ecdsa = Interlocked.Exchange(ref _cached, null) ?? Import();
        try
        {
            return ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            Return(ecdsa);
        }
    }

    /// <summary>
    /// Verifies a signature over bytes whose SHA-256 digest the caller computed (see <see cref="MemoKeyPair.SignDigest"/>).
    /// Returns false (never throws) for a bad signature or a digest that is not 32 bytes.
    /// </summary>
    public bool VerifyDigest(ReadOnlySpan<byte> sha256Digest, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != BlockLimits.SignatureBytes || sha256Digest.Length != 32)
        {
            return false;
        }
        var ecdsa = Interlocked.Exchange(ref _cached, null) ?? Import();
        try
        {
            return ecdsa.VerifyHash(sha256Digest, signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            Return(ecdsa);
        }
    }

    private void Return(ECDsa ecdsa)
    {
        if (Interlocked.CompareExchange(ref _cached, ecdsa, null) is not null)
        {
            ecdsa.Dispose();
        }
    }

    private ECDsa Import()
    {
        var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(_spki, out _);
        return ecdsa;
    }

    /// <summary>True when <paramref name="spki"/> is exactly this key's encoding.</summary>
    public bool Matches(ReadOnlySpan<byte> spki) => spki.SequenceEqual(_spki);

    /// <inheritdoc />
    public bool Equals(MemoPublicKey? other) => other is not null && (ReferenceEquals(this, other) || _spki.AsSpan().SequenceEqual(other._spki));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as MemoPublicKey);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_spki);
        return hash.ToHashCode();
    }

    /// <summary>Short hex fingerprint (first 8 bytes of SHA-256 of the SPKI) for logs.</summary>
    public override string ToString() => "p256:" + Convert.ToHexStringLower(SHA256.HashData(_spki).AsSpan(0, 8));
}
