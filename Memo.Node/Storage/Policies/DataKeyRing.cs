using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography;

namespace Memo.Node.Storage.Policies;

/// <summary>
/// A node's data keys: AES-256 keys that encrypt its stored records, each with a number, kept in the silo's metadata
/// (<see cref="MetaName"/>) wrapped by the key-encryption key. Immutable: adding a key or rewrapping gives a new ring.
/// </summary>
/// <remarks>
/// <para>A node adds a fresh key at every start and writes with it only (<see cref="Current"/>), so a key is used by one
/// process and its nonces (a counter) never repeat; older keys stay to read what they wrote. A ring grows by
/// <see cref="WrappedKeyBytes"/> bytes per start; keys no record uses any more are not pruned yet.</para>
/// <para>Stored format (version <see cref="Format"/>): format byte, key count (u32 LE), then per key its number (u32 LE),
/// a 12-byte nonce, the 32-byte wrapped key and the 16-byte GCM tag. The wrap's associated data is "memo data key",
/// the format and the key's number, so a wrapped key cannot be moved to another number.</para>
/// </remarks>
public sealed class DataKeyRing
{
    /// <summary>The metadata row holding the wrapped ring.</summary>
    public const string MetaName = "policies/data-keys";

    /// <summary>The ring's stored format.</summary>
    public const byte Format = 1;

    /// <summary>Bytes one key takes in the stored ring.</summary>
    public const int WrappedKeyBytes = 4 + NonceBytes + KeyBytes + TagBytes;

    private const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] WrapLabel = "memo data key"u8.ToArray();

    private DataKeyRing(ImmutableSortedDictionary<uint, byte[]> keys)
    {
        Keys = keys;
    }

    /// <summary>The keys by number.</summary>
    public ImmutableSortedDictionary<uint, byte[]> Keys { get; }

    /// <summary>The number of the newest key, the one new records are encrypted with; 0 for an empty ring.</summary>
    public uint Current => Keys.IsEmpty ? 0 : Keys.Keys.Last();

    /// <summary>A ring without keys (a data folder where encryption was just turned on).</summary>
    public static DataKeyRing Empty { get; } = new(ImmutableSortedDictionary<uint, byte[]>.Empty);

    /// <summary>This ring with a fresh random key numbered one above the newest.</summary>
    public DataKeyRing WithNewKey() => new(Keys.Add(Current + 1, RandomNumberGenerator.GetBytes(KeyBytes)));

    /// <summary>The ring wrapped with <paramref name="kek"/>, for <see cref="MetaName"/>.</summary>
    public byte[] Wrap(KeyEncryptionKey kek)
    {
        ArgumentNullException.ThrowIfNull(kek);
        var output = new byte[1 + 4 + (Keys.Count * WrappedKeyBytes)];
        output[0] = Format;
        BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(1), (uint)Keys.Count);
        using var aes = new AesGcm(kek.Bytes, TagBytes);
        var offset = 5;
        foreach (var (number, key) in Keys)
        {
            var slot = output.AsSpan(offset, WrappedKeyBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(slot, number);
            RandomNumberGenerator.Fill(slot.Slice(4, NonceBytes));
            aes.Encrypt(slot.Slice(4, NonceBytes), key, slot.Slice(4 + NonceBytes, KeyBytes), slot.Slice(4 + NonceBytes + KeyBytes, TagBytes), AssociatedData(number));
            offset += WrappedKeyBytes;
        }
        return output;
    }

    /// <summary>
    /// Unwraps a stored ring with <paramref name="kek"/>, or, for a rotation, with <paramref name="previous"/> where
    /// <paramref name="kek"/> does not open a key (then <paramref name="needsRewrap"/> is true: write the ring back wrapped
    /// with <paramref name="kek"/>). Throws <see cref="KeyEncryptionKeyException"/> when a key opens with neither, and
    /// <see cref="InvalidDataException"/> when the stored bytes are not a ring.
    /// </summary>
    public static DataKeyRing Unwrap(ReadOnlySpan<byte> stored, KeyEncryptionKey kek, KeyEncryptionKey? previous, out bool needsRewrap)
    {
        ArgumentNullException.ThrowIfNull(kek);
        needsRewrap = false;
        if (stored.Length < 5 || stored[0] != Format)
        {
            throw new InvalidDataException($"The data key ring ({MetaName}) has format {(stored.Length > 0 ? stored[0] : -1)}; this node reads format {Format}.");
        }
        var count = BinaryPrimitives.ReadUInt32LittleEndian(stored[1..]);
        if ((stored.Length - 5) != (long)count * WrappedKeyBytes)
        {
            throw new InvalidDataException($"The data key ring ({MetaName}) holds {stored.Length} bytes for {count} keys: it is damaged.");
        }
        using var current = new AesGcm(kek.Bytes, TagBytes);
        using var old = previous is null ? null : new AesGcm(previous.Bytes, TagBytes);
        var keys = ImmutableSortedDictionary.CreateBuilder<uint, byte[]>();
        for (var i = 0; i < count; i++)
        {
            var slot = stored.Slice(5 + (i * WrappedKeyBytes), WrappedKeyBytes);
            var number = BinaryPrimitives.ReadUInt32LittleEndian(slot);
            var key = new byte[KeyBytes];
            if (!TryOpen(current, slot, number, key))
            {
                if (old is null || !TryOpen(old, slot, number, key))
                {
                    throw new KeyEncryptionKeyException(previous is null
                        ? $"The key-encryption key from {kek.Source} does not open this node's data keys: it is not the key they were wrapped with. " +
                          "To rotate, give the new key and the old one as memo.node.previous-kek-file (or $" + KeyEncryptionKey.PreviousEnvironmentVariable + ")."
                        : $"Neither the key-encryption key from {kek.Source} nor the previous one from {previous.Source} opens this node's data key {number}.");
                }
                needsRewrap = true;
            }
            keys[number] = key;
        }
        return new DataKeyRing(keys.ToImmutable());
    }

    private static bool TryOpen(AesGcm aes, ReadOnlySpan<byte> slot, uint number, Span<byte> key)
    {
        try
        {
            aes.Decrypt(slot.Slice(4, NonceBytes), slot.Slice(4 + NonceBytes, KeyBytes), slot.Slice(4 + NonceBytes + KeyBytes, TagBytes), key, AssociatedData(number));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private static byte[] AssociatedData(uint number)
    {
        var data = new byte[WrapLabel.Length + 5];
        WrapLabel.CopyTo(data, 0);
        data[WrapLabel.Length] = Format;
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(WrapLabel.Length + 1), number);
        return data;
    }
}
