using Memo.Node.Storage;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Storage;

/// <summary>
/// The contract plus what only a durable silo can show: everything committed is still there after closing and
/// opening the same storage again.
/// </summary>
public abstract class DurableSiloContract(ITestOutputHelper output) : SiloContract(output)
{
    /// <summary>Disposes <paramref name="silo"/> and opens a new silo on the same storage.</summary>
    protected abstract Task<ISilo> ReopenAsync(ISilo silo);

    private async Task<ISilo> ReopenTrackedAsync(ISilo silo)
    {
        var reopened = await ReopenAsync(silo);
        Track(reopened);
        return reopened;
    }

    [Fact]
    public async Task Reopening_keeps_everything_committed()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b
            .PutBlock(S0, Address(1), Bytes("block1"))
            .PutBlock(S1, Address(2), Bytes("block2"))
            .PutEntry(S0, "k/é", Bytes("entry"))
            .PutEntry(S1, "k/😀", [])
            .PutMeta("node-key", Bytes("secret"))
            .PutRaftState(S0, Bytes("hard state")));
        await AppendRangeAsync(silo, S0, 1, 20, term: 4);
        await CommitAsync(silo, b => b.CompactLogThrough(S0, Index(5)).TruncateLogAfter(S0, Index(15)).DeleteBlock(Address(2)));

        var reopened = await ReopenTrackedAsync(silo);

        Assert.Equal(Bytes("block1"), await reopened.ReadBlockAsync(Address(1)));
        Assert.Null(await reopened.ReadBlockAsync(Address(2)));
        var entries = await reopened.ScanEntriesAsync("k/", null, 10);
        Assert.Equal([("k/é", S0, "entry"), ("k/😀", S1, "")], entries.Select(e => (e.Key, e.Shard, System.Text.Encoding.UTF8.GetString(e.Value))));
        Assert.Equal(Bytes("secret"), await reopened.ReadMetaAsync("node-key"));
        Assert.Equal(Bytes("hard state"), await reopened.ReadRaftStateAsync(S0));
        Assert.Equal(new SiloLogBounds(Index(6), Index(15)), await reopened.ReadLogBoundsAsync(S0));
        var log = await reopened.ReadLogAsync(S0, Index(6), Index(16));
        Assert.Equal(Enumerable.Range(6, 10).Select(i => (ulong)i), log.Select(e => e.Index.Value));
        Assert.All(log, e => Assert.Equal(Bytes($"0/{e.Index}/4"), e.Data));

        await CommitAsync(reopened, b => b.PutEntry(S0, "k/after", Bytes("x")));
        Assert.Equal(Bytes("x"), await reopened.ReadEntryAsync("k/after"));
    }

    [Fact]
    public async Task Batches_with_a_deferred_flush_are_visible_when_complete_and_kept_in_order_with_flushed_ones()
    {
        var silo = await NewSiloAsync();
        // Interleaved deferred and flushed batches, some sharing a group: each reads back as soon as its task completes.
        var tasks = Enumerable.Range(0, 200).Select(i =>
        {
            var batch = new SiloBatch().PutEntry(S0, $"d{i:D3}", Bytes($"v{i}"));
            return silo.CommitAsync(i % 3 == 0 ? batch : batch.DeferFlush());
        }).ToArray();
        await Task.WhenAll(tasks);
        Assert.Equal(Bytes("v199"), await silo.ReadEntryAsync("d199"));
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "d-last", Bytes("x")).DeferFlush());
        Assert.Equal(Bytes("x"), await silo.ReadEntryAsync("d-last"));

        var reopened = await ReopenTrackedAsync(silo);
        var all = await reopened.ScanEntriesAsync("d", null, 1000);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"d{i:D3}").Prepend("d-last"), all.Select(e => e.Key)); // "-" sorts before digits
        // The writer still flushes after a run of deferred groups.
        await CommitAsync(reopened, b => b.PutEntry(S0, "after", Bytes("y")));
        Assert.Equal(Bytes("y"), await reopened.ReadEntryAsync("after"));
    }

    [Fact]
    public async Task Commits_queued_at_dispose_are_all_there_after_reopening()
    {
        var silo = await NewSiloAsync();
        var tasks = Enumerable.Range(0, 500).Select(i => CommitAsync(silo, b => b.PutEntry(S0, $"q{i:D3}", Bytes($"v{i}")))).ToArray();
        var reopened = await ReopenTrackedAsync(silo);
        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
        var all = await reopened.ScanEntriesAsync("q", null, 1000);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"q{i:D3}"), all.Select(e => e.Key));
    }
}
