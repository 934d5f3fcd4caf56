using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Memo.Protocol.Blocks;

namespace Memo.Node.Routing;

/// <summary>
/// Splits the address space into a fixed power-of-two number of shards: a block's shard is the leading bits
/// of its address, a key-value entry's shard the leading bits of SHA-256(UTF-8 key). Hashing keys spreads
/// hot prefixes over all shards; the count is fixed when the network is created, so every node computes
/// the same shard for the same input forever.
/// </summary>
public sealed class ShardLayout
{
    private readonly int _bits;

    /// <summary>Creates the layout; <paramref name="shardCount"/> must be a power of two between 1 and 65,536.</summary>
    /// <param name="shardCount">The network's shard count.</param>
    /// <param name="access">The network's access rules when it has an owner (fixed at its creation, like the shard
    /// count, so every replica decides alike): the state machine then admits key-value writes only with a writer's proof.</param>
    public ShardLayout(int shardCount, Memo.Node.Security.NetworkAccess? access = null)
    {
        Access = access;
        if (shardCount < 1 || shardCount > 65536 || (shardCount & (shardCount - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, "The shard count must be a power of two between 1 and 65536.");
        }
        ShardCount = shardCount;
        _bits = System.Numerics.BitOperations.Log2((uint)shardCount);
    }

    /// <summary>The network's access rules; null for a network without an owner.</summary>
    public Memo.Node.Security.NetworkAccess? Access { get; }

    /// <summary>Number of shards.</summary>
    public int ShardCount { get; }

    /// <summary>Every shard id, ascending.</summary>
    public IEnumerable<ShardId> AllShards => Enumerable.Range(0, ShardCount).Select(i => new ShardId(i));

    /// <summary>The shard that stores the block at <paramref name="address"/>.</summary>
    public ShardId ShardOf(BlockAddress address) => FromPrefix(address.Prefix);

    /// <summary>The shard that stores the key-value entry of <paramref name="key"/>.</summary>
    public ShardId ShardOf(string key)
    {
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        byte[]? rented = null;
        Span<byte> utf8 = max <= 512 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(key, utf8);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(utf8[..length], digest);
            return FromPrefix(BinaryPrimitives.ReadUInt64BigEndian(digest));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private ShardId FromPrefix(ulong prefix) => new(_bits == 0 ? 0 : (int)(prefix >> (64 - _bits)));
}
