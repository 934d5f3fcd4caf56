using System.Buffers.Binary;
using System.Security.Cryptography;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Blocks;

// Design note: where a mutable block's older versions live.
//
// With memo.network.versions = N above 1, a mutable block (OKB) keeps its N - 1 versions before the current one. Each
// is stored, as the signed block it was, in its shard's Raft state at a version address derived from the block's
// address and the version: SHA-256("memo/version/1" 0x00 ‖ address ‖ version, big-endian int64) with the first 8
// bytes replaced by the block's (the shard is chosen by the leading bits, so a version lives in its block's shard and
// travels with it in snapshots and rebalancing) and the mutability bit cleared (never an immutable address). No block
// can be stored there by a client: a mutable or named address is a hash of the owner's key and a salt or name. A
// version record is a valid block only at its own address, so a snapshot's record at a version address is checked by
// recomputing the version address from the block it holds (IsKeptVersionAt).

/// <summary>The addresses at which a mutable block's kept older versions are stored (<c>memo.network.versions</c>).</summary>
public static class BlockVersions
{
    private static readonly byte[] Domain = "memo/version/1\0"u8.ToArray();

    /// <summary>The address where version <paramref name="version"/> of the mutable block at <paramref name="block"/> is kept.</summary>
    public static BlockAddress AddressOf(BlockAddress block, long version)
    {
        Span<byte> input = stackalloc byte[Domain.Length + BlockAddress.Length + 8];
        Domain.CopyTo(input);
        block.WriteTo(input[Domain.Length..]);
        BinaryPrimitives.WriteInt64BigEndian(input[(Domain.Length + BlockAddress.Length)..], version);
        Span<byte> digest = stackalloc byte[BlockAddress.Length];
        SHA256.HashData(input, digest);
        block.WriteTo(input);
        input[..8].CopyTo(digest); // the block's prefix, so the version lives in the block's shard
        return BlockAddress.FromDigest(digest, immutable: false);
    }

    /// <summary>
    /// True when <paramref name="stored"/> is a valid mutable block that is kept as an older version at
    /// <paramref name="at"/>: <paramref name="at"/> is the version address of its own address and version.
    /// </summary>
    public static bool IsKeptVersionAt(Block stored, BlockAddress at)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return stored.TryGetKind(out var kind) && kind == BlockKind.Mutable
            && stored.TryGetAddress(out var own) && own != at && stored.Version >= 0
            && AddressOf(own, stored.Version) == at
            && BlockValidator.Validate(stored).IsValid;
    }
}
