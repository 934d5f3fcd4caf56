using System.Collections.Immutable;
using System.Numerics;

namespace Memo.Node.Cluster;

// Design note: consistent hashing with virtual nodes (Karger et al. 1997; Dynamo's preference lists).
//
// Every Up member owns a few random 64-bit tokens. A shard's position on the ring is the start of its address range,
// shard << (64 - log2(shardCount)): the same leading-bits rule that maps an address to its shard (ShardLayout), so
// shard s owns [s << k, (s+1) << k). Its replica set is the first R distinct nodes met walking clockwise from that
// position (wrapping past 2^64 - 1). Only Up members are on the ring: Joining members are not yet, Leaving members no
// longer, so their shards move off while they can still hand them over.
//
// Minimal movement: the walk order of distinct nodes from any position is fixed by the tokens. A node joining is
// inserted into that order (it enters the first R of a shard, pushing the R-th out, or it does not appear in it);
// a node leaving is deleted from it (the next node moves up). So a join changes only shards that gain the new node
// and a leave only shards that lose the old one, about R * shards / n of them.

/// <summary>
/// The placement ring of one membership view: the sorted tokens of the Up members (design note above). Immutable;
/// the same members in any order give the same ring.
/// </summary>
public sealed class Ring
{
    /// <summary>The ring without nodes.</summary>
    public static Ring Empty { get; } = new([], []);

    private Ring(ImmutableArray<RingEntry> entries, ImmutableSortedSet<NodeId> nodes)
    {
        Entries = entries;
        Nodes = nodes;
    }

    /// <summary>Every virtual node, ascending by token then NodeId.</summary>
    public ImmutableArray<RingEntry> Entries { get; }

    /// <summary>The distinct nodes on the ring.</summary>
    public ImmutableSortedSet<NodeId> Nodes { get; }

    /// <summary>Number of distinct nodes on the ring.</summary>
    public int NodeCount => Nodes.Count;

    /// <summary>The ring of the <see cref="MemberStatus.Up"/> members among <paramref name="members"/> (others ignored).
    /// Throws if two records share a NodeId.</summary>
    public static Ring FromMembers(IEnumerable<Member> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var entries = ImmutableArray.CreateBuilder<RingEntry>();
        var nodes = ImmutableSortedSet.CreateBuilder<NodeId>();
        foreach (var member in members)
        {
            if (member.Status != MemberStatus.Up)
            {
                continue;
            }
            if (!nodes.Add(member.Id))
            {
                throw new ArgumentException($"Member {member.Id} appears twice.", nameof(members));
            }
            foreach (var token in member.Tokens)
            {
                entries.Add(new RingEntry(token, member.Id));
            }
        }
        if (nodes.Count == 0)
        {
            return Empty;
        }
        entries.Sort();
        return new Ring(entries.ToImmutable(), nodes.ToImmutable());
    }

    /// <summary>Where shard <paramref name="shard"/> of <paramref name="shardCount"/> starts on the ring: its index in the
    /// leading log2(shardCount) bits. <paramref name="shardCount"/> is a power of two in 1..65536.</summary>
    public static ulong PositionOf(ShardId shard, int shardCount)
    {
        if (shardCount < 1 || shardCount > 65536 || !BitOperations.IsPow2(shardCount))
        {
            throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, "The shard count must be a power of two between 1 and 65536.");
        }
        if (shard.Value < 0 || shard.Value >= shardCount)
        {
            throw new ArgumentOutOfRangeException(nameof(shard), shard, $"Shards are 0..{shardCount - 1}.");
        }
        var bits = BitOperations.Log2((uint)shardCount);
        // A shift by 64 would be a shift by 0 in C#: one shard starts at 0.
        return bits == 0 ? 0 : (ulong)shard.Value << (64 - bits);
    }

    /// <summary>
    /// The replica set of <paramref name="shard"/>: the first <paramref name="replicationFactor"/> distinct nodes
    /// clockwise from its position. Fewer when the ring has fewer nodes (the set then holds every node; see
    /// <see cref="RingPlacement.IsClamped"/>); empty for an empty ring.
    /// </summary>
    public ReplicaSet ReplicasOf(ShardId shard, int shardCount, int replicationFactor) =>
        ReplicasAt(PositionOf(shard, shardCount), replicationFactor);

    /// <summary>The first <paramref name="replicationFactor"/> distinct nodes clockwise from <paramref name="position"/>
    /// (a token equal to the position counts).</summary>
    public ReplicaSet ReplicasAt(ulong position, int replicationFactor)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(replicationFactor);
        var wanted = Math.Min(replicationFactor, NodeCount);
        if (wanted == 0)
        {
            return ReplicaSet.Empty;
        }
        var start = FirstAtOrAfter(position);
        var replicas = ImmutableArray.CreateBuilder<NodeId>(wanted);
        for (var step = 0; step < Entries.Length && replicas.Count < wanted; step++)
        {
            var node = Entries[(start + step) % Entries.Length].Node;
            if (!replicas.Contains(node))
            {
                replicas.Add(node);
            }
        }
        return new ReplicaSet(replicas.MoveToImmutable());
    }

    /// <summary>Index of the first entry whose token is at least <paramref name="position"/>; 0 (wrap) when none is.</summary>
    private int FirstAtOrAfter(ulong position)
    {
        int lo = 0, hi = Entries.Length;
        while (lo < hi)
        {
            var mid = lo + (hi - lo) / 2;
            if (Entries[mid].Token < position)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo == Entries.Length ? 0 : lo;
    }
}
