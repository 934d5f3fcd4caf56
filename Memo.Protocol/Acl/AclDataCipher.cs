using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Acl;

/// <summary>
/// Encrypts an ACB's data under its per-write data key: AES-256-GCM, <c>0x01 ‖ nonce(12) ‖ ciphertext ‖ tag(16)</c>,
/// with the block's address and version as associated data, so a ciphertext moved to another block or version does
/// not open. The key is fresh for every write (memo's ACB did the same with AES-256-CBC), so a key never meets two
/// plaintexts; the nonce is random all the same.
/// </summary>
public static class AclDataCipher
{
    /// <summary>Format byte of the stored data.</summary>
    public const byte Format = 1;

    /// <summary>Length of a data key.</summary>
    public const int KeyBytes = 32;

    /// <summary>Bytes the encryption adds to the data (format, nonce, tag).</summary>
    public const int Overhead = 1 + NonceBytes + TagBytes;

    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] Domain = "memo/acb/data/1\0"u8.ToArray();

    /// <summary>A fresh data key from the system CSPRNG.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeyBytes);

    /// <summary>The stored form of <paramref name="plaintext"/> in version <paramref name="version"/> of the ACB at <paramref name="address"/>.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> key, BlockAddress address, long version, ReadOnlySpan<byte> plaintext)
    {
        var stored = new byte[Overhead + plaintext.Length];
        stored[0] = Format;
        var nonce = stored.AsSpan(1, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plaintext, stored.AsSpan(1 + NonceBytes, plaintext.Length), stored.AsSpan(1 + NonceBytes + plaintext.Length), Associated(address, version));
        return stored;
    }

    /// <summary>Opens the stored data; false (never throws) for a wrong key, a tampered ciphertext or another block's or version's data.</summary>
    public static bool TryDecrypt(ReadOnlySpan<byte> key, BlockAddress address, long version, ReadOnlySpan<byte> stored, [NotNullWhen(true)] out byte[]? plaintext)
    {
        plaintext = null;
        if (key.Length != KeyBytes || stored.Length < Overhead || stored[0] != Format)
        {
            return false;
        }
        var plain = new byte[stored.Length - Overhead];
        try
        {
            using var aes = new AesGcm(key, TagBytes);
            aes.Decrypt(stored.Slice(1, NonceBytes), stored.Slice(1 + NonceBytes, plain.Length), stored[(1 + NonceBytes + plain.Length)..], plain, Associated(address, version));
        }
        catch (CryptographicException)
        {
            return false;
        }
        plaintext = plain;
        return true;
    }

    private static byte[] Associated(BlockAddress address, long version)
    {
        var associated = new byte[Domain.Length + BlockAddress.Length + 8];
        Domain.CopyTo(associated, 0);
        address.WriteTo(associated.AsSpan(Domain.Length));
        BinaryPrimitives.WriteInt64BigEndian(associated.AsSpan(Domain.Length + BlockAddress.Length), version);
        return associated;
    }
}
