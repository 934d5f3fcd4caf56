using System.Text;
using Google.Protobuf;
using Memo.Node.Cluster;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Node.Tests.ClusterData;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.ValueStore;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Blocks;

/// <summary>
/// The direct block path in in-process clusters: large values stored as copies on their replica set (not through
/// Raft), copies following the ring when it grows and when a replica is lost, and a corrupt copy never served and
/// repaired. Anti-entropy runs only when a test runs a pass (its timer is off), so each phase is explicit.
/// </summary>
public sealed class BlockCopyClusterTests(ITestOutputHelper output)
{
    private static readonly string[] Settings = ["memo.raft.tick-interval = 20ms", "memo.shards.anti-entropy-interval = 0s"];

    private const int ValueBytes = 64 * 1024;

    private static MemoClient ClientOf(InProcessCluster.Slot slot) => new(slot.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });

    private static byte[] ValueOf(int i)
    {
        var value = new byte[ValueBytes];
        new Random(i).NextBytes(value);
        return value;
    }

    [Fact]
    public async Task A_large_value_is_acknowledged_with_copies_on_a_majority_of_its_replicas_and_read_through_every_node()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            await writer.UpsertAsync("big/0", ValueOf(0));
        }

        var address = await AddressOfAsync(cluster, "big/0");
        var holders = await HoldersAsync(cluster, address);
        Assert.True(holders.Count >= 2, $"block {address}: copies on {holders.Count} nodes after the write was acknowledged, fewer than a majority of 3");
        foreach (var slot in cluster.Nodes)
        {
            // Not a Raft block: no shard's Raft state (which a snapshot would carry) holds it.
            Assert.DoesNotContain(await ShardBlocksAsync(slot, cluster.Nodes[0].Running.Shards.Layout.ShardOf(address)), a => a == address);
            using var reader = ClientOf(slot);
            Assert.Equal(ValueOf(0), await reader.FetchAsync("big/0"));
        }
    }

    [Fact]
    public async Task Growing_the_cluster_copies_blocks_to_their_new_replicas_and_drops_them_where_placement_left()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        var addresses = await WriteAsync(cluster, "grow", 12);
        await RepairUntilAsync(cluster, addresses, "every block on its 3 replicas before the cluster grows");

        await cluster.AddNodeAsync(overrides: Settings);
        await ClusterDataTests.WaitAsync(cluster, n => n.Count == 4 && n.All(s => s.View.Membership.MembersIn(MemberStatus.Up).Count() == 4), "4 nodes Up on every node");
        var newcomer = cluster.Nodes[3].View.Self;
        Assert.Contains(addresses, a => cluster.Nodes[0].View.ReplicasOf(cluster.Nodes[0].Running.Shards.Layout.ShardOf(a)).Contains(newcomer));
        await RepairUntilAsync(cluster, addresses, "every block exactly on its replica set of 4 nodes");

        using var reader = ClientOf(cluster.Nodes[3]);
        for (var i = 0; i < addresses.Count; i++)
        {
            Assert.Equal(ValueOf(i), await reader.FetchAsync($"grow/{i}"));
        }
    }

    [Fact]
    public async Task Losing_a_replica_restores_the_copy_count_on_the_survivors()
    {
        await using var cluster = await InProcessCluster.StartAsync(4, [.. InProcessCluster.FastSettings, .. Settings]);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 4, 3), "every shard's group = its 3 ring replicas on 4 nodes");
        var addresses = await WriteAsync(cluster, "lose", 12);
        await RepairUntilAsync(cluster, addresses, "every block on its 3 replicas before a node is lost");

        var victim = cluster.Nodes[3].View.Self;
        var lost = addresses.Count(a => PlacedOn(cluster, a, victim));
        Assert.True(lost > 0, "no block had a copy on the node to be killed");
        await cluster.KillAsync(3);
        await ClusterDataTests.WaitAsync(cluster, n => n.All(s => !s.View.Placement.ShardsOf(victim).Any()), "the killed node off the ring of every survivor");
        await RepairUntilAsync(cluster, addresses, "every block back on 3 replicas among the survivors");
        output.WriteLine($"{lost} of {addresses.Count} blocks had a copy on the killed node");

        using var reader = ClientOf(cluster.Nodes[1]);
        for (var i = 0; i < addresses.Count; i++)
        {
            Assert.Equal(ValueOf(i), await reader.FetchAsync($"lose/{i}"));
        }
    }

    [Fact]
    public async Task A_corrupt_copy_is_not_served_the_read_falls_over_to_a_good_one_and_the_copy_is_repaired()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        var addresses = await WriteAsync(cluster, "rot", 1);
        await RepairUntilAsync(cluster, addresses, "the block on its 3 replicas");
        var address = addresses[0];
        var victim = cluster.Nodes[1];
        var silo = victim.Running.Shards.Silo;
        var good = Block.Parser.ParseFrom(await silo.ReadBlockAsync(address) ?? throw new InvalidOperationException("no copy on node 1"));
        var rotten = good.Clone();
        var data = rotten.Data.ToByteArray();
        data[data.Length / 2] ^= 0x40;
        rotten.Data = ByteString.CopyFrom(data);
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(victim.Running.Shards.Layout.ShardOf(address), address, rotten.ToByteArray()));

        using (var reader = ClientOf(victim))
        {
            Assert.Equal(ValueOf(0), await reader.FetchAsync("rot/0"));
        }
        Assert.True(victim.Running.Shards.Copies.BadCopiesFound >= 1, "the corrupt copy was not noticed");
        Assert.Null(await silo.ReadBlockAsync(address));

        await RepairUntilAsync(cluster, addresses, "the dropped copy sent back to node 1");
        var repaired = Block.Parser.ParseFrom(await silo.ReadBlockAsync(address) ?? throw new InvalidOperationException("no copy on node 1"));
        Assert.True(BlockValidator.ValidateAt(repaired, address).IsValid);
    }

    [Fact]
    public async Task A_copy_whose_file_is_lost_is_not_served_the_node_keeps_serving_and_the_copy_is_repaired()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        var addresses = await WriteAsync(cluster, "lost", 1);
        await RepairUntilAsync(cluster, addresses, "the block on its 3 replicas");
        var address = addresses[0];
        var victim = cluster.Nodes[1];
        // Values of 64 KiB make blocks above the 64 KiB copy file threshold: the copy is a file of its own.
        var hex = Convert.ToHexStringLower(address.ToArray());
        var file = Assert.Single(Directory.GetFiles(Path.Combine(victim.DataDirectory, "memo.db-blocks", hex[..2]), hex + ".*"));
        File.Delete(file);
        await Assert.ThrowsAsync<SiloCorruptException>(async () => await victim.Running.Shards.Silo.ReadBlockAsync(address));

        using (var reader = ClientOf(victim))
        {
            Assert.Equal(ValueOf(0), await reader.FetchAsync("lost/0"));
            await reader.UpsertAsync("lost/after", Encoding.UTF8.GetBytes("the node still takes writes"));
            Assert.Equal("the node still takes writes", Encoding.UTF8.GetString(await reader.FetchAsync("lost/after") ?? []));
        }
        Assert.True(victim.Running.Shards.Copies.BadCopiesFound >= 1, "the lost copy file was not noticed");
        Assert.Null(await victim.Running.Shards.Silo.ReadBlockAsync(address));

        await RepairUntilAsync(cluster, addresses, "the dropped copy sent back to node 1");
        var repaired = Block.Parser.ParseFrom(await victim.Running.Shards.Silo.ReadBlockAsync(address) ?? throw new InvalidOperationException("no copy on node 1"));
        Assert.True(BlockValidator.ValidateAt(repaired, address).IsValid);
    }

    [Fact]
    public async Task A_stale_copy_of_a_reclaimed_block_is_not_taken_back_by_the_replicas_and_is_removed_where_it_was()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        var first = await WriteAsync(cluster, "stale", 1);
        await RepairUntilAsync(cluster, first, "the first value's block on its 3 replicas");
        var old = first[0];
        var holder = cluster.Nodes[2];
        var oldBytes = await holder.Running.Shards.Silo.ReadBlockAsync(old) ?? throw new InvalidOperationException("no copy on node 2");

        // Overwriting the key reclaims the old block on every replica of its group.
        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            await writer.UpsertAsync("stale/0", ValueOf(1));
        }
        await ClusterDataTests.WaitForAsync(async () => (await HoldersAsync(cluster, old)).Count == 0, cluster, "the old block reclaimed on every replica");

        // Node 2 gets its old copy back, as a replica that missed the reclaim (or was away) would still hold it.
        await holder.Running.Shards.Silo.CommitAsync(new SiloBatch().PutBlockCopy(holder.Running.Shards.Layout.ShardOf(old), old, oldBytes));
        await holder.Running.Shards.Copies.RunAntiEntropyPassAsync();

        Assert.Empty(await HoldersAsync(cluster, old));
        Assert.Equal(1, holder.Running.Shards.Copies.StaleCopiesRemoved);
        using var reader = ClientOf(holder);
        Assert.Equal(ValueOf(1), await reader.FetchAsync("stale/0"));
    }

    [Fact]
    public async Task A_copy_corrupted_in_flight_is_refused_with_its_reason_and_the_replica_stays_up_and_takes_the_good_copy()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, Settings);
        await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
        // 200 KiB: the copy travels in 4 parts (ShardForwarder.CopyPartBytes), one of them carrying the flipped bit.
        var data = new byte[200 * 1024];
        new Random(21).NextBytes(data);
        var good = BlockFactory.MakeImmutable(data, owner: null);
        Assert.True(good.TryGetAddress(out var address));
        var shard = cluster.Nodes[0].Running.Shards.Layout.ShardOf(address);
        var rotten = good.ToByteArray();
        rotten[rotten.Length / 2] ^= 0x08;
        var sender = cluster.Nodes[0].Running.Shards.Forwarder;
        var replica = cluster.Nodes[1];

        var refused = await sender.StoreCopyAsync(replica.View.Self, new StoreCopyRequest { Shard = (uint)shard.Value, Block = ByteString.CopyFrom(rotten) },
            TimeSpan.FromSeconds(30), default);

        Assert.Equal((ForwardedCallFate.Answered, CopyStatus.Invalid), (refused.Fate, refused.Answer!.Status));
        Assert.Contains($"block {address} fails validation", refused.Answer.Reason, StringComparison.Ordinal);
        Assert.Null(await replica.Running.Shards.Silo.ReadBlockAsync(address));

        var stored = await sender.StoreCopyAsync(replica.View.Self, new StoreCopyRequest { Shard = (uint)shard.Value, Block = good.ToByteString() },
            TimeSpan.FromSeconds(30), default);

        Assert.Equal((ForwardedCallFate.Answered, CopyStatus.Stored), (stored.Fate, stored.Answer!.Status));
        Assert.Equal(good.ToByteArray(), await replica.Running.Shards.Silo.ReadBlockAsync(address));
        Assert.Equal(0, replica.Running.Shards.Forwarder.CopyTransfersInProgress);
        using var reader = ClientOf(replica);
        await reader.UpsertAsync("inflight/after", Encoding.UTF8.GetBytes("the replica still takes writes"));
        Assert.Equal("the replica still takes writes", Encoding.UTF8.GetString(await reader.FetchAsync("inflight/after") ?? []));
    }

    private static bool PlacedOn(InProcessCluster cluster, BlockAddress address, NodeId node) =>
        cluster.Nodes[0].View.ReplicasOf(cluster.Nodes[0].Running.Shards.Layout.ShardOf(address)).Contains(node);

    private static async Task<List<BlockAddress>> WriteAsync(InProcessCluster cluster, string prefix, int count)
    {
        using var writer = ClientOf(cluster.Nodes[0]);
        var addresses = new List<BlockAddress>();
        for (var i = 0; i < count; i++)
        {
            await writer.UpsertAsync($"{prefix}/{i}", ValueOf(i));
            addresses.Add(await AddressOfAsync(cluster, $"{prefix}/{i}"));
        }
        return addresses;
    }

    // Runs anti-entropy passes on every running node until each block is held by exactly its ring replica set.
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
                var view = cluster.Running.First().View;
                var expected = view.ReplicasOf(cluster.Running.First().Running.Shards.Layout.ShardOf(address)).Nodes.Order().ToList();
                var held = (await HoldersAsync(cluster, address)).Order().ToList();
                if (!held.SequenceEqual(expected))
                {
                    output.WriteLine($"pass {passes}: {address} on [{string.Join(", ", held)}], placed on [{string.Join(", ", expected)}]");
                    return false;
                }
            }
            return true;
        }, cluster, phase);
        output.WriteLine($"{phase}: {passes} anti-entropy passes");
    }

    private static async Task<List<NodeId>> HoldersAsync(InProcessCluster cluster, BlockAddress address)
    {
        var holders = new List<NodeId>();
        foreach (var slot in cluster.Running)
        {
            var shard = slot.Running.Shards.Layout.ShardOf(address);
            var copies = await slot.Running.Shards.Silo.ListBlockCopiesAsync(shard, null, 100_000);
            if (copies.Contains(address))
            {
                holders.Add(slot.View.Self);
            }
        }
        return holders;
    }

    private static async Task<List<BlockAddress>> ShardBlocksAsync(InProcessCluster.Slot slot, ShardId shard)
    {
        var records = await slot.Running.Shards.Silo.ScanShardAsync(shard, null, 100_000);
        return records.Where(r => r.Block is not null).Select(r => r.Block!.Value).ToList();
    }

    // The entry as some replica of the key's shard applied it (a follower may apply it a moment after the acknowledgement).
    private static async Task<BlockAddress> AddressOfAsync(InProcessCluster cluster, string key)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            foreach (var slot in cluster.Running)
            {
                if (await slot.Running.Shards.Silo.ReadEntryAsync(key) is { } bytes)
                {
                    var entry = KvEntry.Parser.ParseFrom(bytes);
                    Assert.Null(entry.ValueBlock);
                    return BlockAddress.FromBytes(entry.ValueAddress.Span);
                }
            }
            Assert.True(DateTime.UtcNow < deadline, $"no node applied the entry of {key} within 10 s");
            await Task.Delay(20); // polling pause: the loop re-reads
        }
    }
}
