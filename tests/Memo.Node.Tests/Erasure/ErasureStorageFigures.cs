using Memo.Node.Cluster;
using Memo.Node.Tests.ClusterData;
using Memo.Protocol.Client;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Erasure;

/// <summary>
/// What erasure coding saves on disk (docs/performance.md, "Erasure coding"): the same large values written to a
/// 6-node cluster that keeps 3 whole copies and to one that keeps 4+2 fragments, measured as the silo files' sizes
/// (and their copy files) once every node has stopped (SQLite folds its write-ahead log into the database at close), and as the bytes of the
/// copy and fragment records the silos hold.
/// </summary>
public sealed class ErasureStorageFigures(ITestOutputHelper output)
{
    private const int Values = 16;
    private const int ValueBytes = 256 * 1024;

    [Fact]
    public async Task Bytes_on_disk_for_3_copies_and_for_4_plus_2_fragments_are_printed()
    {
        var copies = await MeasureAsync([]);
        var coded = await MeasureAsync(["memo.network.erasure = \"4+2\""]);
        const long logical = (long)Values * ValueBytes;
        output.WriteLine($"{Values} values of {ValueBytes / 1024} KiB ({logical:N0} bytes) on 6 nodes:");
        output.WriteLine($"  replication factor 3: records {copies.Records:N0} bytes ({copies.Records / (double)logical:F2}x), silo files {copies.Files:N0} bytes");
        output.WriteLine($"  erasure 4+2:          records {coded.Records:N0} bytes ({coded.Records / (double)logical:F2}x), silo files {coded.Files:N0} bytes");
        // The records are exactly what each policy must keep: 3 whole copies, or 6 fragments of a quarter each.
        Assert.InRange(copies.Records, 3 * logical, 3 * logical + Values * 3 * 1024);
        Assert.InRange(coded.Records, 3 * logical / 2, 3 * logical / 2 + Values * 6 * 1024);
        Assert.True(coded.Files < copies.Files * 6 / 10, $"4+2 files {coded.Files} bytes, not under 60% of 3 copies' {copies.Files}");
    }

    private async Task<(long Records, long Files)> MeasureAsync(string[] settings)
    {
        var cluster = await InProcessCluster.StartAsync(6, ["memo.shards.anti-entropy-interval = 0s", .. settings]);
        try
        {
            await ClusterDataTests.WaitAsync(cluster, n => ClusterDataTests.GroupsMatchRing(n, 6, 3), "every shard's group = its 3 ring replicas");
            using (var client = new MemoClient(cluster.Nodes[0].Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(60) }))
            {
                for (var i = 0; i < Values; i++)
                {
                    var value = new byte[ValueBytes];
                    new Random(i).NextBytes(value);
                    await client.UpsertAsync($"big/{i}", value);
                }
            }
            // Copies acknowledged at 2 of 3 are completed by the next pass (fragments are all durable at the acknowledgement).
            foreach (var slot in cluster.Running)
            {
                await slot.Running.Shards.Copies.RunAntiEntropyPassAsync();
            }
            long records = 0;
            foreach (var slot in cluster.Running)
            {
                var silo = slot.Running.Shards.Silo;
                foreach (var shard in slot.Running.Shards.Layout.AllShards)
                {
                    foreach (var address in await silo.ListBlockCopiesAsync(shard, null, 100_000))
                    {
                        records += (await silo.ReadBlockAsync(address))!.Length;
                    }
                    foreach (var fragment in await silo.ListBlockFragmentsAsync(shard, null, 100_000))
                    {
                        records += (await silo.ReadBlockFragmentAsync(fragment.Address))!.Length;
                    }
                }
            }
            for (var i = 0; i < cluster.Nodes.Count; i++)
            {
                await cluster.StopAsync(i);
            }
            // The database files and the copy files beside them (memo.db-blocks/: copies above 64 KiB).
            var files = cluster.Nodes.Sum(s => Directory.EnumerateFiles(s.DataDirectory, "memo.db*").Sum(f => new FileInfo(f).Length)
                + (Directory.Exists(Path.Combine(s.DataDirectory, "memo.db-blocks"))
                    ? Directory.EnumerateFiles(Path.Combine(s.DataDirectory, "memo.db-blocks"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)
                    : 0));
            return (records, files);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
