using System.Collections.Immutable;
using Memo.Node.Cluster;
using Memo.Node.Erasure;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Erasure;

/// <summary>Where fragments go: K + M distinct nodes from the ring walk at the address's own position, the same on
/// every node, and a membership change moving one holder per block it touches.</summary>
public sealed class FragmentPlacementTests
{
    private static List<Member> MembersOf(int nodes) =>
        [.. Enumerable.Range(1, nodes).Select(i =>
            Member.Create(new NodeId((ulong)i), $"127.0.0.1:{5000 + i}", MemberStatus.Up, i, RingTokens.Draw(new DeterministicRandom((ulong)i * 31), 16), []))];

    private static Ring RingOf(int nodes) => Ring.FromMembers(MembersOf(nodes));

    private static BlockAddress Address(int i)
    {
        var bytes = System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i));
        bytes[^1] |= 1;
        return BlockAddress.FromBytes(bytes);
    }

    [Fact]
    public void Every_block_gets_K_plus_M_distinct_nodes_and_the_answer_does_not_depend_on_member_order()
    {
        var ring = RingOf(8);
        var reversed = Ring.FromMembers(Enumerable.Reverse(MembersOf(8)));
        for (var i = 0; i < 200; i++)
        {
            var holders = FragmentPlacement.HoldersOf(ring, Address(i), 6);
            Assert.Equal(6, holders.Distinct().Count());
            Assert.Equal(holders.ToArray(), FragmentPlacement.HoldersOf(reversed, Address(i), 6).ToArray());
        }
        // Fewer nodes than fragments: every node, once.
        Assert.Equal(4, FragmentPlacement.HoldersOf(RingOf(4), Address(1), 6).Distinct().Count());
        Assert.Empty(FragmentPlacement.HoldersOf(Ring.Empty, Address(1), 6));
    }

    [Fact]
    public void Blocks_of_one_shard_spread_their_fragments_over_the_whole_ring()
    {
        var ring = RingOf(12);
        var layout = new Memo.Node.Routing.ShardLayout(4);
        var load = new Dictionary<NodeId, int>();
        var blocks = Enumerable.Range(0, 4000).Select(Address).Where(a => layout.ShardOf(a) == new ShardId(0)).ToList();
        foreach (var address in blocks)
        {
            foreach (var node in FragmentPlacement.HoldersOf(ring, address, 6))
            {
                load[node] = load.GetValueOrDefault(node) + 1;
            }
        }
        // Every node holds fragments of the shard's blocks, none more than twice its fair share.
        Assert.Equal(12, load.Count);
        Assert.All(load.Values, n => Assert.InRange(n, 1, 2 * blocks.Count * 6 / 12));
    }

    [Fact]
    public void A_node_leaving_changes_only_the_blocks_it_held_and_replaces_it_by_one_node()
    {
        var members = MembersOf(9);
        var before = Ring.FromMembers(members);
        var gone = new NodeId(4);
        var after = Ring.FromMembers(members.Where(m => m.Id != gone));
        for (var i = 0; i < 500; i++)
        {
            var was = FragmentPlacement.HoldersOf(before, Address(i), 6);
            var now = FragmentPlacement.HoldersOf(after, Address(i), 6);
            if (!was.Contains(gone))
            {
                Assert.Equal(was.ToArray(), now.ToArray());
                continue;
            }
            Assert.Equal(was.Remove(gone).ToHashSet(), now.Intersect(was).ToHashSet());
            Assert.Single(now.Except(was));
        }
    }
}
