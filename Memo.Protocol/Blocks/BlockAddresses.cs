using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Memo.Protocol.Blocks;

/// <summary>
/// How each kind's address is derived. The preimages are unambiguous: salts and canonical P-256 keys have fixed
/// lengths, and the one variable-length field that is followed by another (the CHB owner, empty or a key) is
/// length-prefixed. Without that prefix an ownerless CHB whose data starts with a key would share its address
/// with the owned CHB of that key (memo hashes salt ‖ owner ‖ data bare).
/// </summary>
public static class BlockAddresses
{
    private static readonly byte[] NamedPrefix = "NB/"u8.ToArray();
    private static readonly byte[] NamedSeparator = "/"u8.ToArray();

    // Largest CHB preimage hashed from one stack buffer (a 1 KiB inline value with its salt and owner key fits).
    private const int MaxOneShotPreimage = 2048;

    /// <summary>
    /// CHB: SHA-256(salt ‖ u32be(len owner) ‖ owner ‖ data) with the immutable flag set.
    /// <paramref name="ownerSpki"/> is empty for an ownerless block.
    /// </summary>
    public static BlockAddress Immutable(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> ownerSpki, ReadOnlySpan<byte> data)
    {
        var length = salt.Length + 4 + ownerSpki.Length + data.Length;
        if (length <= MaxOneShotPreimage)
        {
            // A small block (every key's inline value is one, hashed again at each read): the preimage on the stack and
            // one SHA-256 call, where an IncrementalHash allocates a native hash context with a finalizer per call.
            Span<byte> preimage = stackalloc byte[length];
            salt.CopyTo(preimage);
            BinaryPrimitives.WriteUInt32BigEndian(preimage[salt.Length..], checked((uint)ownerSpki.Length));
            ownerSpki.CopyTo(preimage[(salt.Length + 4)..]);
            data.CopyTo(preimage[(salt.Length + 4 + ownerSpki.Length)..]);
            return Finish(preimage, immutable: true);
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> ownerLength = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(ownerLength, checked((uint)ownerSpki.Length));
        hash.AppendData(salt);
        hash.AppendData(ownerLength);
        hash.AppendData(ownerSpki);
        hash.AppendData(data);
        return Finish(hash, immutable: true);
    }

    /// <summary>OKB: SHA-256(owner SPKI ‖ salt) with the mutable flag (0).</summary>
    public static BlockAddress Mutable(ReadOnlySpan<byte> ownerSpki, ReadOnlySpan<byte> salt)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(ownerSpki);
        hash.AppendData(salt);
        return Finish(hash, immutable: false);
    }

    /// <summary>NB: SHA-256("NB/" ‖ owner SPKI ‖ "/" ‖ name) with the mutable flag (0).</summary>
    public static BlockAddress Named(ReadOnlySpan<byte> ownerSpki, ReadOnlySpan<byte> name)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(NamedPrefix);
        hash.AppendData(ownerSpki);
        hash.AppendData(NamedSeparator);
        hash.AppendData(name);
        return Finish(hash, immutable: false);
    }

    /// <summary>NB address of <paramref name="name"/> under <paramref name="owner"/>.</summary>
    public static BlockAddress Named(MemoPublicKey owner, ReadOnlySpan<byte> name)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return Named(owner.Spki.Span, name);
    }

    private static BlockAddress Finish(ReadOnlySpan<byte> preimage, bool immutable)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(preimage, digest);
        return BlockAddress.FromDigest(digest, immutable);
    }

    private static BlockAddress Finish(IncrementalHash hash, bool immutable)
    {
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return BlockAddress.FromDigest(digest, immutable);
    }
}
