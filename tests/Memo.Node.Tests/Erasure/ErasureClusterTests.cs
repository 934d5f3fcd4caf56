using Google.Protobuf;
using Memo.Node.Cluster;
using Memo.Node.Erasure;
using Memo.Node.Shards.Wire;
using Memo.Node.Tests.ClusterData;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Erasure;

/// <summary>
/// Erasure coding 4+2 on in-process clusters: blocks above the threshold stored as 6 fragments on 6 distinct nodes
/// and no whole copy, every block readable and identical with any 2 holders killed, and after the eviction delay the
/// anti-entropy pass restoring 6 fragments on 6 distinct live nodes. Anti-entropy runs only when a test runs a pass
/// (its timer is off), so each phase is explicit.
/// </summary>
/// <remarks>
/// The kill test starts 8 nodes, not 6: restoring 6 fragments on 6 distinct live nodes after 2 are gone needs 6
/// survivors. (On 6 nodes, killing 2 leaves every block readable from the 4 fragments left, and the repair has nowhere
/// to put the other 2: it waits, correctly, for nodes to come.) Blocks are written and read through memo.vs, whose
/// coded blocks need no Raft group: with replication factor 3, two killed nodes may be a majority of some shard's
/// group, which would stop key-value reads of that shard for reasons that have nothing to do with erasure coding.
/// </remarks>
public sealed class ErasureClusterTests(ITestOutputHelper output)
{
    private static readonly string[] Settings =
    [
        "memo.raft.tick-interval = 20ms",
        "memo.shards.anti-entropy-interval = 0s",
        "memo.network.erasure = \"4+2\"",
        "memo.network.erasure-threshold = 16KiB",
    ];

    private const int BlockBytes = 48 * 1024;

    private static MemoClient ClientOf(InProcessCluster.Slot slot) => new(slot.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });

    private static byte[] DataOf(int i)
    {
        var data = new byte[BlockBytes + i * 1000];
        new Random(i).NextBytes(data);
        return data;
    }

    [Fact]
    public async Task With_4_plus_2_on_8_nodes_killing_two_holders_leaves_every_block_readable_and_the_repair_restores_6_fragments_on_6_live_nodes()
    {
        await using var cluster = await InProcessCluster.StartAsync(8, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => n.All(s => s.View.Membership.MembersIn(MemberStatus.Up).Count() == 8), "8 nodes Up on every node");

        var addresses = new List<BlockAddress>();
        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            for (var i = 0; i < 8; i++)
            {
                addresses.Add(await writer.InsertImmutableBlockAsync(DataOf(i)));
            }
        }
        // Acknowledged only once all 6 fragments are durable: each block is on its 6 holders now, and nowhere whole.
        foreach (var address in addresses)
        {
            var fragments = await FragmentsAsync(cluster, address);
            Assert.Equal(HoldersOf(cluster, address).Order(), fragments.Keys.Order());
            Assert.Equal(Enumerable.Range(0, 6), fragments.Values.Order());
            foreach (var slot in cluster.Running)
            {
                Assert.Null(await slot.Running.Shards.Silo.ReadBlockAsync(address));
            }
        }

        // Two holders of the first block (not node 0, the seed): that block loses 2 fragments, the others 0, 1 or 2.
        var firstHolders = HoldersOf(cluster, addresses[0]);
        var victims = cluster.Nodes.Where(s => s.Index != 0 && firstHolders.Contains(s.View.Self)).Take(2).ToList();
        var victimIds = victims.Select(v => v.View.Self).ToHashSet();
        var losses = addresses.Select(a => HoldersOf(cluster, a).Count(victimIds.Contains)).ToList();
        output.WriteLine($"killing {string.Join(", ", victimIds)}; fragments lost per block: {string.Join(", ", losses)}");
        Assert.Equal(2, losses[0]);
        foreach (var victim in victims)
        {
            await cluster.KillAsync(victim.Index);
        }

        // Killed (and, until the eviction delay has passed, still holders on the ring): every block decodes from the
        // 4 or more fragments left on survivors.
        using (var reader = ClientOf(cluster.Nodes[0]))
        {
            for (var i = 0; i < addresses.Count; i++)
            {
                var block = await reader.FetchBlockAsync(addresses[i]) ?? throw new InvalidOperationException($"block {i} missing with 2 nodes killed");
                Assert.Equal(DataOf(i), block.Data.ToByteArray());
            }
        }
        // (Nothing is rebuilt while a killed holder is still on the ring: FragmentRepairPlanTests. Checking it here would
        // race the eviction delay on a loaded machine.)
        await ClusterDataTests.WaitAsync(cluster, n => n.All(s => !s.View.Placement.Ring.Nodes.Overlaps(victimIds)), "the killed nodes off the ring of every survivor (eviction delay)");
        await RepairUntilAsync(cluster, addresses, "every block back to 6 fragments on 6 distinct live nodes");
        output.WriteLine($"fragments rebuilt: {cluster.Running.Sum(s => s.Running.Shards.Copies.FragmentsRebuilt)}");
        Assert.True(cluster.Running.Sum(s => s.Running.Shards.Copies.FragmentsRebuilt) >= losses.Sum());

        var survivor = cluster.Running.Last();
        using var again = ClientOf(survivor);
        for (var i = 0; i < addresses.Count; i++)
        {
            Assert.Equal(DataOf(i), (await again.FetchBlockAsync(addresses[i]))!.Data.ToByteArray());
        }
    }

    [Fact]
    public async Task A_corrupt_fragment_is_not_used_the_block_still_reads_and_the_fragment_is_rebuilt()
    {
        await using var cluster = await InProcessCluster.StartAsync(6, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => n.All(s => s.View.Membership.MembersIn(MemberStatus.Up).Count() == 6), "6 nodes Up on every node");
        BlockAddress address;
        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            address = await writer.InsertImmutableBlockAsync(DataOf(0));
        }
        // Rot the data fragment 0 wherever it is: the read must not use it (its hash fails), and must still succeed.
        var (holder, record) = await FragmentWithIndexAsync(cluster, address, 0);
        var rotten = record.Clone();
        var data = rotten.Data.ToByteArray();
        data[data.Length / 3] ^= 0x10;
        rotten.Data = ByteString.CopyFrom(data);
        var silo = holder.Running.Shards.Silo;
        await silo.CommitAsync(new Memo.Node.Storage.SiloBatch().PutBlockFragment(holder.Running.Shards.Layout.ShardOf(address), address, 0, rotten.ToByteArray()));

        using (var reader = ClientOf(cluster.Nodes.First(s => s != holder)))
        {
            Assert.Equal(DataOf(0), (await reader.FetchBlockAsync(address))!.Data.ToByteArray());
        }
        await ClusterDataTests.WaitForAsync(async () => await silo.ReadBlockFragmentAsync(address) is null, cluster, "the corrupt fragment dropped where it was found");
        Assert.True(holder.Running.Shards.Copies.BadFragmentsFound >= 1);

        await RepairUntilAsync(cluster, [address], "fragment 0 rebuilt");
        var (_, rebuilt) = await FragmentWithIndexAsync(cluster, address, 0);
        Assert.Equal(record.Data, rebuilt.Data);
    }

    [Fact]
    public async Task Overwriting_a_key_and_deleting_a_block_remove_their_fragments_everywhere()
    {
        await using var cluster = await InProcessCluster.StartAsync(6, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 6, 3), "every shard's group = its 3 ring replicas");
        using var client = ClientOf(cluster.Nodes[0]);
        await client.UpsertAsync("big", DataOf(1));
        var first = Assert.Single(await CodedBlocksAsync(cluster));
        Assert.Equal(DataOf(1), await client.FetchAsync("big"));

        // The overwrite reclaims the first value's block; the reclaim carries the decoded block to its shard, whose
        // replicas record the removal, and the holders drop their fragments at their next pass.
        await client.UpsertAsync("big", DataOf(2));
        Assert.Equal(DataOf(2), await client.FetchAsync("big"));
        var second = (await CodedBlocksAsync(cluster)).Single(a => a != first);
        var blockAddress = await client.InsertImmutableBlockAsync(DataOf(3));
        Assert.True(await client.DeleteBlockAsync(blockAddress));

        await ClusterDataTests.WaitForAsync(async () =>
        {
            foreach (var slot in cluster.Running)
            {
                await slot.Running.Shards.Copies.RunAntiEntropyPassAsync();
            }
            return (await CodedBlocksAsync(cluster)).SetEquals([second]);
        }, cluster, "only the current value's fragments left");
        Assert.Equal(6, (await FragmentsAsync(cluster, second)).Count);
        Assert.Equal(DataOf(2), await client.FetchAsync("big"));
        // Until the holders' pass a deleted block's fragments still decode (docs: "Policies: erasure coding"); not after.
        Assert.Null(await client.FetchBlockAsync(blockAddress));
    }

    // Every block some running node holds a fragment of.
    private static async Task<HashSet<BlockAddress>> CodedBlocksAsync(InProcessCluster cluster)
    {
        var found = new HashSet<BlockAddress>();
        foreach (var slot in cluster.Running)
        {
            foreach (var shard in slot.Running.Shards.Layout.AllShards)
            {
                found.UnionWith((await slot.Running.Shards.Silo.ListBlockFragmentsAsync(shard, null, 10_000)).Select(f => f.Address));
            }
        }
        return found;
    }

    private static List<NodeId> HoldersOf(InProcessCluster cluster, BlockAddress address) =>
        [.. FragmentPlacement.HoldersOf(cluster.Running.First().View.Placement.Ring, address, 6)];

    // Node -> fragment index, over the running nodes.
    private static async Task<Dictionary<NodeId, int>> FragmentsAsync(InProcessCluster cluster, BlockAddress address)
    {
        var held = new Dictionary<NodeId, int>();
        foreach (var slot in cluster.Running)
        {
            if (await slot.Running.Shards.Silo.ReadBlockFragmentAsync(address) is { } bytes)
            {
                held[slot.View.Self] = (int)BlockFragment.Parser.ParseFrom(bytes).Index;
            }
        }
        return held;
    }

    private static async Task<(InProcessCluster.Slot Holder, BlockFragment Record)> FragmentWithIndexAsync(InProcessCluster cluster, BlockAddress address, int index)
    {
        foreach (var slot in cluster.Running)
        {
            if (await slot.Running.Shards.Silo.ReadBlockFragmentAsync(address) is { } bytes && BlockFragment.Parser.ParseFrom(bytes) is { } record && record.Index == index)
            {
                return (slot, record);
            }
        }
        throw new InvalidOperationException($"no node holds fragment {index} of {address}");
    }

    // Runs anti-entropy passes on every running node until each block has fragments 0..5 on exactly its 6 holders.
    private async Task RepairUntilAsync(InProcessCluster cluster, IReadOnlyList<BlockAddress> addresses, string phase)
    {
        var passes = 0;
        await ClusterDataTests.WaitForAsync(async () =>
        {
            foreach (var slot in cluster.Running.ToList())
            {
                await slot.Running.Shards.Copies.RunAntiEntropyPassAsync();
            }
            passes++;
            foreach (var address in addresses)
            {
                var held = await FragmentsAsync(cluster, address);
                var holders = HoldersOf(cluster, address);
                if (!held.Keys.Order().SequenceEqual(holders.Order()) || !held.Values.Order().SequenceEqual(Enumerable.Range(0, 6)))
                {
                    output.WriteLine($"pass {passes}: {address} fragments {string.Join(", ", held.Select(h => $"{h.Key}:{h.Value}"))}; holders {string.Join(", ", holders)}");
                    return false;
                }
            }
            return true;
        }, cluster, phase);
        output.WriteLine($"{phase}: {passes} anti-entropy passes");
    }
}
