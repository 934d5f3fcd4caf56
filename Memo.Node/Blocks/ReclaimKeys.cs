using System.Security.Cryptography;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Blocks;

// Design note: proof that a value block is unreferenced.
//
// A key-value write stores the value block in the block's shard and the entry in the key's shard: two Raft
// groups, so the block's shard cannot see whether an entry still points at the block. Reclaiming a replaced value
// block must still not be something anyone can ask for. The writer therefore draws a random 32-byte reclaim key,
// makes the block's salt SHA-256("memo/reclaim/1" 0x00 ‖ key) and keeps the key only in the entry. Whoever replaces
// or deletes the entry gets the old entry back from the key's shard, key included, and only then can it reclaim
// the block: knowing the key proves the entry was let go of (or was read by a replica of its shard, which is a
// member of the network). The block's salt reveals nothing about the key (preimage resistance), and a block made
// without a reclaim key (random salt) can only be removed by its owner's signed DeleteBlock.
//
// Only owned CHBs are reclaimable: an ownerless CHB stays undeletable whatever salt its writer chose.

/// <summary>Reclaim keys of key-value value blocks: making them, deriving a block's salt, checking a reclaim.</summary>
public static class ReclaimKeys
{
    /// <summary>Length of a reclaim key in bytes.</summary>
    public const int Length = 32;

    private static readonly byte[] Domain = "memo/reclaim/1\0"u8.ToArray();

    /// <summary>A fresh key from the system CSPRNG (it must be unguessable, so not from a seeded PRNG).</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(Length);

    /// <summary>The CHB salt bound to <paramref name="reclaimKey"/>: SHA-256("memo/reclaim/1" 0x00 ‖ key).</summary>
    public static byte[] SaltOf(ReadOnlySpan<byte> reclaimKey)
    {
        if (reclaimKey.Length != Length)
        {
            throw new ArgumentException($"A reclaim key is {Length} bytes, not {reclaimKey.Length}.", nameof(reclaimKey));
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Domain);
        hash.AppendData(reclaimKey);
        return hash.GetHashAndReset();
    }

    /// <summary>
    /// True when <paramref name="reclaimKey"/> unlocks the reclaim of <paramref name="stored"/>: an owned CHB whose
    /// salt is <see cref="SaltOf"/> the key. Never throws on bad input.
    /// </summary>
    public static bool Unlocks(Block stored, ReadOnlySpan<byte> reclaimKey)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (reclaimKey.Length != Length || !stored.TryGetKind(out var kind) || kind != BlockKind.Immutable || stored.Owner.IsEmpty)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(SaltOf(reclaimKey), stored.Salt.Span);
    }
}
