using System.Text;
using Memo.Node.Blocks;
using Memo.Node.Tests.Api;
using Memo.Protocol.Blocks;
using Memo.Node.Routing;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using Memo.Testing;
using Xunit.Abstractions;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// <c>memo.network.versions</c> on an in-process cluster: the last N versions of a key are fetchable from any node,
/// older ones answer NOT_FOUND, and the versions travel with the shard's state: a replica added later (installed from
/// the leader's snapshot) and a restarted replica hold them in their own silo.
/// </summary>
public sealed class VersioningClusterTests(ITestOutputHelper output)
{
    private const int Versions = 3;
    private const int Writes = Versions + 3;

    // A tiny snapshot threshold: every shard's leader snapshots after a few writes, so a replica added later is
    // installed from a snapshot that holds the versioned entries, not only replayed from the log.
    private static readonly string[] Settings =
        ["memo.raft.tick-interval = 20ms", $"memo.network.versions = {Versions}", "memo.raft.snapshot-threshold = 4"];

    [Fact]
    public async Task The_last_N_versions_are_fetchable_everywhere_and_survive_a_new_replica_and_a_restart()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, Settings);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");

        // One key per shard, so whichever shards the ring gives a new node, it must receive versioned entries.
        var layout = new ShardLayout(cluster.Nodes[0].View.Network.ShardCount);
        var keys = layout.AllShards.Select(shard => KeyIn(layout, shard)).ToList();
        var values = keys.ToDictionary(k => k, k => Enumerable.Range(1, Writes).Select(v => ValueOf(k, v)).ToArray());
        BlockAddress mutable;
        using (var writer = ClientOf(cluster.Nodes[0]))
        {
            for (var v = 1; v <= Writes; v++)
            {
                foreach (var key in keys)
                {
                    await writer.UpsertAsync(key, values[key][v - 1]);
                }
            }
            // A mutable block too: versions 0..Writes-1, of which the last Versions are kept.
            mutable = await writer.InsertMutableBlockAsync("version 0"u8.ToArray());
            await BlockVersionsTests.UpdateAsync(writer, mutable, Writes - 1);
        }

        // Phase 1: read through another node than the writer.
        using (var reader = ClientOf(cluster.Nodes[2]))
        {
            foreach (var key in keys)
            {
                await AssertKeptVersionsAsync(reader, key, values[key], "read through node 2");
            }
            var missing = await Assert.ThrowsAsync<GrpcException>(() =>
                reader.CallAsync(KeyValueStoreMethods.Fetch, new FetchRequest { Key = keys[0], Version = 1 }));
            Assert.Equal(GrpcStatusCode.NotFound, missing.Status);
            Assert.Contains($"Version 1 of key '{keys[0]}' is not kept", missing.Message, StringComparison.Ordinal);
            output.WriteLine($"pruned version: {missing.Status} \"{missing.Message}\"");
            await AssertKeptBlockVersionsAsync(reader, mutable, "read through node 2");
        }

        // Phase 2: a fourth node joins; the groups it is added to install the leader's snapshot on it.
        var added = await cluster.AddNodeAsync(overrides: Settings);
        await WaitAsync(cluster, n => GroupsMatchRing(n, 4, 3), "every shard's group = its 3 ring replicas on 4 nodes");
        var placedOnAdded = layout.AllShards.Where(s => added.View.ReplicasOf(s).Nodes.Contains(added.View.Self)).ToList();
        var blockShard = layout.ShardOf(mutable);
        Assert.NotEmpty(placedOnAdded);
        await WaitForAsync(async () =>
        {
            foreach (var shard in placedOnAdded)
            {
                if (await added.Running.Shards.Silo.ReadEntryAsync(keys[shard.Value]) is not { } stored
                    || !VersionsOf(stored).SequenceEqual(ExpectedVersions))
                {
                    return false;
                }
            }
            // The block's kept versions too, when its shard is placed there (a version lives in its block's shard).
            return !placedOnAdded.Contains(blockShard)
                || await added.Running.Shards.Silo.ReadBlockAsync(BlockVersions.AddressOf(mutable, Writes - Versions)) is not null;
        }, cluster, $"the added node's replicas of shards {string.Join(", ", placedOnAdded)} hold versions {string.Join(", ", ExpectedVersions)}");
        foreach (var shard in placedOnAdded)
        {
            var bounds = await added.Running.Shards.Silo.ReadLogBoundsAsync(shard);
            output.WriteLine($"added node, shard {shard.Value}: versions of '{keys[shard.Value]}' held, log {bounds.First.Value}..{bounds.Last.Value}");
        }
        using (var viaAdded = ClientOf(added))
        {
            foreach (var key in keys)
            {
                await AssertKeptVersionsAsync(viaAdded, key, values[key], "read through the added node");
            }
            await AssertKeptBlockVersionsAsync(viaAdded, mutable, "read through the added node");
        }

        // Phase 3: a node restarts on its data folder and still has them, in its silo and through its API.
        await cluster.StopAsync(1);
        await cluster.RestartAsync(1);
        var restarted = cluster.Nodes[1];
        await WaitAsync(cluster, n => GroupsMatchRing(n, 4, 3), "every shard's group = its 3 ring replicas after node 1 restarted");
        foreach (var shard in layout.AllShards.Where(s => restarted.View.ReplicasOf(s).Nodes.Contains(restarted.View.Self)))
        {
            var stored = await restarted.Running.Shards.Silo.ReadEntryAsync(keys[shard.Value]);
            Assert.True(stored is not null, $"the restarted node's replica of shard {shard.Value} lost '{keys[shard.Value]}'");
            Assert.Equal(ExpectedVersions, VersionsOf(stored));
        }
        using (var viaRestarted = ClientOf(restarted))
        {
            foreach (var key in keys)
            {
                await AssertKeptVersionsAsync(viaRestarted, key, values[key], "read through the restarted node");
            }
            await AssertKeptBlockVersionsAsync(viaRestarted, mutable, "read through the restarted node");
        }
    }

    private static readonly ulong[] ExpectedVersions = Enumerable.Range(0, Versions).Select(i => (ulong)(Writes - i)).ToArray();

    // The kept versions listed newest first and each readable; every older one NOT_FOUND. The second-to-last value is
    // over the inline limit, so one kept version lives in its own block, which the newer write must not have reclaimed.
    private static async Task AssertKeptVersionsAsync(MemoClient client, string key, byte[][] values, string how)
    {
        Assert.Equal(ExpectedVersions, await client.ListVersionsAsync(key));
        foreach (var version in ExpectedVersions)
        {
            var value = await client.FetchAsync(key, version);
            Assert.True(value is not null, $"{how}: version {version} of '{key}' not found");
            Assert.True(values[version - 1].AsSpan().SequenceEqual(value), $"{how}: version {version} of '{key}' has other bytes");
        }
        for (var version = 1UL; version <= Writes - Versions; version++)
        {
            Assert.Null(await client.FetchAsync(key, version));
        }
        var current = await client.FetchAsync(key);
        Assert.True(values[^1].AsSpan().SequenceEqual(current), $"{how}: the current value of '{key}' has other bytes");
    }

    // Versions 0..Writes-1 were written: the last Versions are listed and fetchable, the one before is not.
    private static async Task AssertKeptBlockVersionsAsync(MemoClient client, BlockAddress address, string how)
    {
        var kept = Enumerable.Range(0, Versions).Select(i => (long)(Writes - 1 - i)).ToArray();
        Assert.Equal(kept, await client.ListBlockVersionsAsync(address));
        foreach (var version in kept)
        {
            var block = await client.FetchBlockAsync(address, version);
            Assert.True(block is not null, $"{how}: version {version} of block {address} not found");
            Assert.Equal($"version {version}", block.Data.ToStringUtf8());
        }
        Assert.Null(await client.FetchBlockAsync(address, kept[^1] - 1));
    }

    private static ulong[] VersionsOf(byte[]? stored)
    {
        var entry = KvEntry.Parser.ParseFrom(stored);
        return [entry.Version, .. entry.OlderVersions.Select(o => o.Version)];
    }

    private static byte[] ValueOf(string key, int version) => version == Writes - 1
        ? Enumerable.Range(0, 6000).Select(i => (byte)(i * 7 + version)).ToArray() // over the 4 KiB inline limit
        : Encoding.UTF8.GetBytes($"{key} version {version}");

    private static string KeyIn(ShardLayout layout, ShardId shard)
    {
        for (var i = 0; ; i++)
        {
            var key = $"doc/{i}";
            if (layout.ShardOf(key) == shard)
            {
                return key;
            }
        }
    }
}
