using System.Buffers.Binary;
using System.Collections.Immutable;
using Memo.Node.Cluster;
using Memo.Protocol.Blocks;

namespace Memo.Node.Erasure;

/// <summary>
/// Where the fragments of an erasure-coded block live: the first K + M distinct nodes clockwise on the ring from the
/// block's own position (<see cref="PositionOf"/>). Pure: the same ring and address give the same nodes on every node.
/// </summary>
/// <remarks>
/// The position is taken from the address's bytes 8..15, not its leading bytes: the leading bits pick the block's
/// shard (and so the shard's replica set), and blocks of one shard would all start their walk in the same stretch of
/// the ring and pile their fragments on the same few nodes. The address is a SHA-256 digest, so any 8 bytes of it are
/// uniform. The walk has the ring's minimal-movement property (Ring's design note): a node leaving is deleted from
/// every block's holder list (the next node moves in), a node joining enters some lists and pushes their last out, so
/// a membership change moves one fragment of the blocks it touches. Which fragment a holder keeps is not tied to its
/// rank: the write gives the i-th node fragment i, and a repair gives a missing index to a holder that has none
/// (<see cref="FragmentRepairPlan"/>), so a rank shift moves no data.
/// </remarks>
public static class FragmentPlacement
{
    /// <summary>The block's position on the ring: its address's bytes 8..15, big-endian.</summary>
    public static ulong PositionOf(BlockAddress address)
    {
        Span<byte> bytes = stackalloc byte[BlockAddress.Length];
        address.WriteTo(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice(8, 8));
    }

    /// <summary>The nodes that hold the <paramref name="totalFragments"/> fragments of the block at
    /// <paramref name="address"/>, in rank order; fewer when the ring has fewer nodes.</summary>
    public static ImmutableArray<NodeId> HoldersOf(Ring ring, BlockAddress address, int totalFragments)
    {
        ArgumentNullException.ThrowIfNull(ring);
        return ring.NodeCount == 0 ? [] : ring.ReplicasAt(PositionOf(address), totalFragments).Nodes;
    }
}
