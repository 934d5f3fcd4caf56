using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Storage;

// Versioning (memo.network.versions) adds no silo rows: a key's kept versions live in its entry's bytes. What every silo
// must then do is carry an entry whose size grows and shrinks with its history whole through point reads, scans and the
// shard scan that snapshots are built from, and the snapshot installed from it must pass the state machine's check.
public abstract partial class SiloContract
{
    [Fact]
    public async Task A_versioned_entry_growing_and_shrinking_reads_back_whole_and_travels_in_the_shard_snapshot()
    {
        var silo = await NewSiloAsync();
        var layout = new ShardLayout(4);
        const string key = "versioned";
        var shard = layout.ShardOf(key);
        using var owner = MemoKeyPair.Generate();

        byte[]? stored = null;
        for (var v = 1; v <= 8; v++)
        {
            // Up to 6 versions of about 1.5 KiB inline values: larger than the entry cache's test budget (4 KiB) at the
            // top, so the cache sees the entry grow past what it may hold and shrink back (kept versions drop to 2 at v 7).
            var block = BlockFactory.MakeImmutable(Enumerable.Repeat((byte)v, 1500).ToArray(), owner.PublicKey);
            var write = new WriteEntry { Key = key, ValueAddress = block.Address, ValueBlock = block, KeepVersions = v < 7 ? 6u : 2u };
            var decision = ShardStateMachine.Decide(new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = write }, stored);
            stored = decision.NewValue!;
            await silo.CommitAsync(new SiloBatch().PutEntry(shard, key, stored));

            var read = await silo.ReadEntryAsync(key);
            Assert.Equal(stored, read);
            Assert.Equal(stored, Assert.Single(await silo.ScanEntriesAsync("", null, 10)).Value);
        }
        Assert.Equal([8UL, 7UL], VersionsOf(stored!));

        var snapshot = await ShardSnapshotCodec.CaptureAsync(silo, shard, 1 << 20, CancellationToken.None);
        var (recordKey, value) = Assert.Single(ShardSnapshotCodec.Decode(snapshot!));
        Assert.Equal(key, recordKey.Key);
        Assert.Equal(stored, value);
        Assert.Null(ShardStateMachine.CheckRecord(recordKey, value, shard, layout));

        // Installed on another replica (cleared, then written), the history is there.
        var replica = await NewSiloAsync();
        await replica.CommitAsync(new SiloBatch().ClearShard(shard).PutEntry(shard, key, value));
        var installed = await replica.ReadEntryAsync(key);
        Assert.Equal([8UL, 7UL], VersionsOf(installed!));
    }

    private static ulong[] VersionsOf(byte[] stored)
    {
        var entry = KvEntry.Parser.ParseFrom(stored);
        return [entry.Version, .. entry.OlderVersions.Select(o => o.Version)];
    }
}
