using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Storage;

/// <summary>
/// The behaviour every <see cref="ISilo"/> must have. An implementation's test class derives from this (or from
/// <see cref="DurableSiloContract"/>) and says how to create a fresh silo and how to inject a fault.
/// </summary>
public abstract partial class SiloContract(ITestOutputHelper output) : IAsyncLifetime
{
    protected static readonly ShardId S0 = new(0);
    protected static readonly ShardId S1 = new(1);
    protected static readonly ShardId S2 = new(2);

    private readonly List<ISilo> _silos = [];

    protected ITestOutputHelper Output { get; } = output;

    /// <summary>False for a silo that stores values transformed (SealedSilo: compressed, encrypted), whose measured bytes
    /// are of what it stored: the usage checks then compare row counts only.</summary>
    protected virtual bool StoresValuesAsGiven => true;

    private void AssertUsage(SiloShardUsage expected, SiloShardUsage actual)
    {
        if (StoresValuesAsGiven)
        {
            Assert.Equal(expected, actual);
        }
        else
        {
            Assert.Equal((expected.Entries, expected.Blocks, expected.Copies, expected.LogEntries), (actual.Entries, actual.Blocks, actual.Copies, actual.LogEntries));
        }
    }

    /// <summary>A new, empty silo, independent of every other one this method returned.</summary>
    protected abstract Task<ISilo> CreateSiloAsync();

    /// <summary>
    /// Installs (null: removes) a callback run before each operation is applied; a returned exception makes
    /// the silo fail there, as an I/O fault in the middle of a batch would.
    /// </summary>
    protected abstract void SetFaultInjector(ISilo silo, Func<SiloOperation, Exception?>? injector);

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
    }

    /// <summary>A new silo that is disposed after the test.</summary>
    protected async Task<ISilo> NewSiloAsync()
    {
        var silo = await CreateSiloAsync();
        Track(silo);
        return silo;
    }

    protected void Track(ISilo silo)
    {
        lock (_silos)
        {
            _silos.Add(silo);
        }
    }

    protected static BlockAddress Address(int n)
    {
        var bytes = new byte[BlockAddress.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, n);
        bytes[^1] = 1;
        return BlockAddress.FromBytes(bytes);
    }

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    protected static LogIndex Index(ulong value) => new(value);

    protected static Term TermOf(ulong value) => new(value);

    protected static Task CommitAsync(ISilo silo, Action<SiloBatch> build)
    {
        var batch = new SiloBatch();
        build(batch);
        return silo.CommitAsync(batch);
    }

    protected static async Task<string[]> ScanKeysAsync(ISilo silo, string prefix, string? after = null, int limit = 1000) =>
        (await silo.ScanEntriesAsync(prefix, after, limit)).Select(e => e.Key).ToArray();

    protected static async Task<ulong[]> LogIndexesAsync(ISilo silo, ShardId shard) =>
        (await silo.ReadLogAsync(shard, LogIndex.Zero, new LogIndex(ulong.MaxValue))).Select(e => e.Index.Value).ToArray();

    protected static Task AppendRangeAsync(ISilo silo, ShardId shard, ulong first, ulong last, ulong term = 1) =>
        CommitAsync(silo, b =>
        {
            for (var i = first; i <= last; i++)
            {
                b.AppendLog(shard, Index(i), TermOf(term), Bytes($"{shard}/{i}/{term}"));
            }
        });

    private static ulong[] Range(ulong first, ulong last) => Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (ulong)i).ToArray();

    // ---- blocks, entries, meta, raft state ----

    [Fact]
    public async Task Absent_items_read_as_null_and_an_empty_log_has_zero_bounds()
    {
        var silo = await NewSiloAsync();
        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        Assert.Null(await silo.ReadEntryAsync("missing"));
        Assert.Null(await silo.ReadMetaAsync("missing"));
        Assert.Null(await silo.ReadRaftStateAsync(S0));
        Assert.Empty(await silo.ReadLogAsync(S0, LogIndex.Zero, new LogIndex(ulong.MaxValue)));
        var bounds = await silo.ReadLogBoundsAsync(S0);
        Assert.True(bounds.IsEmpty);
        Assert.Equal(new SiloLogBounds(LogIndex.Zero, LogIndex.Zero), bounds);
        Assert.Empty(await silo.ScanEntriesAsync("", null, 10));
    }

    [Fact]
    public async Task A_put_block_reads_back_is_replaced_by_a_second_put_and_is_gone_after_delete()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutBlock(S0, Address(1), Bytes("one")).PutBlock(S1, Address(2), Bytes("two")));
        Assert.Equal(Bytes("one"), await silo.ReadBlockAsync(Address(1)));
        Assert.Equal(Bytes("two"), await silo.ReadBlockAsync(Address(2)));

        await CommitAsync(silo, b => b.PutBlock(S0, Address(1), Bytes("one again")));
        Assert.Equal(Bytes("one again"), await silo.ReadBlockAsync(Address(1)));

        await CommitAsync(silo, b => b.DeleteBlock(Address(1)));
        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        Assert.Equal(Bytes("two"), await silo.ReadBlockAsync(Address(2)));
    }

    [Fact]
    public async Task A_block_head_read_gives_the_blocks_other_fields_with_or_without_its_payload_and_null_when_absent()
    {
        var silo = await NewSiloAsync();
        using var owner = MemoKeyPair.Generate();
        var payload = new byte[5000];
        new Random(7).NextBytes(payload);
        var block = BlockFactory.MakeImmutable(payload, owner.PublicKey, Memo.Node.Blocks.ReclaimKeys.SaltOf(Memo.Node.Blocks.ReclaimKeys.NewKey()));
        Assert.True(block.TryGetAddress(out var address));
        await CommitAsync(silo, b => b.PutBlockCopy(S0, address, block.ToByteArray()).PutBlock(S1, Address(2), Bytes("raft")));

        var head = Block.Parser.ParseFrom(await silo.ReadBlockHeadAsync(address) ?? throw new InvalidOperationException("no head"));
        Assert.Equal((block.Type, block.Address, block.Salt, block.Owner), (head.Type, head.Address, head.Salt, head.Owner));
        // A silo may leave the payload out (a copy in a file does), never change it.
        Assert.True(head.GetPayload().IsEmpty || head.GetPayload().Equals(block.GetPayload()));
        Assert.Equal(block.ToByteArray(), await silo.ReadBlockAsync(address));
        Assert.Equal(Bytes("raft"), await silo.ReadBlockHeadAsync(Address(2)));
        Assert.Null(await silo.ReadBlockHeadAsync(Address(3)));
    }

    [Fact]
    public async Task Block_copies_read_as_blocks_list_per_shard_in_address_order_and_go_with_a_block_delete()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutBlockCopy(S0, Address(3), Bytes("three")).PutBlockCopy(S0, Address(1), Bytes("one"))
            .PutBlockCopy(S1, Address(2), Bytes("two")).PutBlock(S0, Address(4), Bytes("raft")));

        Assert.Equal(Bytes("one"), await silo.ReadBlockAsync(Address(1)));
        Assert.Equal([Address(1), Address(3)], await silo.ListBlockCopiesAsync(S0, null, 10));
        Assert.Equal([Address(3)], await silo.ListBlockCopiesAsync(S0, Address(1), 10));
        Assert.Equal([Address(1)], await silo.ListBlockCopiesAsync(S0, null, 1));
        Assert.Equal([Address(2)], await silo.ListBlockCopiesAsync(S1, null, 10));

        // A removal through the shard (reclaim, delete) removes a copy too; a copy delete leaves shard blocks alone.
        await CommitAsync(silo, b => b.DeleteBlock(Address(1)).DeleteBlockCopy(Address(4)).DeleteBlockCopy(Address(2)));
        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        Assert.Null(await silo.ReadBlockAsync(Address(2)));
        Assert.Equal(Bytes("raft"), await silo.ReadBlockAsync(Address(4)));
        Assert.Equal([Address(3)], await silo.ListBlockCopiesAsync(S0, null, 10));
    }

    [Fact]
    public async Task Block_fragments_read_apart_from_blocks_list_per_shard_with_their_index_and_go_with_a_block_delete()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutBlockFragment(S0, Address(3), 5, Bytes("f3")).PutBlockFragment(S0, Address(1), 0, Bytes("f1"))
            .PutBlockFragment(S1, Address(2), 2, Bytes("f2")).PutBlockCopy(S0, Address(4), Bytes("copy")));

        Assert.Equal(Bytes("f1"), await silo.ReadBlockFragmentAsync(Address(1)));
        // A fragment is not the block: a block read never returns it, a fragment read never returns a copy.
        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        Assert.Null(await silo.ReadBlockFragmentAsync(Address(4)));
        Assert.Equal([new SiloFragment(Address(1), 0), new SiloFragment(Address(3), 5)], await silo.ListBlockFragmentsAsync(S0, null, 10));
        Assert.Equal([new SiloFragment(Address(3), 5)], await silo.ListBlockFragmentsAsync(S0, Address(1), 10));
        Assert.Equal([new SiloFragment(Address(1), 0)], await silo.ListBlockFragmentsAsync(S0, null, 1));
        Assert.Equal([new SiloFragment(Address(2), 2)], await silo.ListBlockFragmentsAsync(S1, null, 10));
        Assert.Empty(await silo.ListBlockCopiesAsync(S1, null, 10));

        // Another index replaces the node's fragment; a removal through the shard takes the fragment with it; a
        // fragment delete leaves copies alone; clearing a shard's Raft state leaves fragments alone.
        await CommitAsync(silo, b => b.PutBlockFragment(S0, Address(3), 1, Bytes("g3")));
        Assert.Equal(Bytes("g3"), await silo.ReadBlockFragmentAsync(Address(3)));
        await CommitAsync(silo, b => b.DeleteBlock(Address(1)).DeleteBlockFragment(Address(4)).DeleteBlockFragment(Address(2)).ClearShard(S0));
        Assert.Null(await silo.ReadBlockFragmentAsync(Address(1)));
        Assert.True(await silo.IsBlockRemovedAsync(Address(1)));
        Assert.Null(await silo.ReadBlockFragmentAsync(Address(2)));
        Assert.Equal(Bytes("copy"), await silo.ReadBlockAsync(Address(4)));
        Assert.Equal([new SiloFragment(Address(3), 1)], await silo.ListBlockFragmentsAsync(S0, null, 10));
    }

    [Fact]
    public async Task A_block_delete_is_remembered_until_removals_before_a_time_are_forgotten()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutBlockCopy(S0, Address(1), Bytes("copy")).PutBlockCopy(S0, Address(2), Bytes("other")));
        await CommitAsync(silo, b => b.DeleteBlock(Address(1)).DeleteBlockCopy(Address(2)));

        Assert.True(await silo.IsBlockRemovedAsync(Address(1)));
        Assert.False(await silo.IsBlockRemovedAsync(Address(2))); // a copy dropped is not a block removed
        await CommitAsync(silo, b => b.ForgetRemovedBlocks(DateTimeOffset.UtcNow - TimeSpan.FromHours(1)));
        Assert.True(await silo.IsBlockRemovedAsync(Address(1)));
        await CommitAsync(silo, b => b.ForgetRemovedBlocks(DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1)));
        Assert.False(await silo.IsBlockRemovedAsync(Address(1)));
    }

    [Fact]
    public async Task Copies_are_outside_a_shards_raft_state_neither_scanned_nor_cleared_with_it()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutBlockCopy(S1, Address(1), Bytes("copy")).PutBlock(S1, Address(2), Bytes("raft")));

        var records = await silo.ScanShardAsync(S1, null, 10);
        Assert.Equal([Address(2)], records.Select(r => r.Block!.Value));
        await CommitAsync(silo, b => b.ClearShard(S1));
        Assert.Equal(Bytes("copy"), await silo.ReadBlockAsync(Address(1)));
        Assert.Null(await silo.ReadBlockAsync(Address(2)));
    }

    [Fact]
    public async Task A_put_entry_reads_back_is_replaced_by_a_second_put_and_is_gone_after_delete()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutEntry(S0, "k1", Bytes("v1")).PutEntry(S1, "k2", Bytes("v2")));
        Assert.Equal(Bytes("v1"), await silo.ReadEntryAsync("k1"));

        await CommitAsync(silo, b => b.PutEntry(S2, "k1", Bytes("v1'")));
        Assert.Equal(Bytes("v1'"), await silo.ReadEntryAsync("k1"));
        var scanned = Assert.Single(await silo.ScanEntriesAsync("k1", null, 10));
        Assert.Equal(("k1", S2), (scanned.Key, scanned.Shard));
        Assert.Equal(Bytes("v1'"), scanned.Value);

        await CommitAsync(silo, b => b.DeleteEntry("k1"));
        Assert.Null(await silo.ReadEntryAsync("k1"));
        Assert.Equal(Bytes("v2"), await silo.ReadEntryAsync("k2"));
    }

    [Fact]
    public async Task Deleting_absent_items_changes_nothing_and_succeeds()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutEntry(S0, "kept", Bytes("v")));
        await CommitAsync(silo, b => b.DeleteBlock(Address(9)).DeleteEntry("absent").TruncateLogAfter(S0, Index(3)).CompactLogThrough(S0, Index(3)).ClearShard(S2));
        Assert.Equal(["kept"], await ScanKeysAsync(silo, ""));
    }

    [Fact]
    public async Task Empty_values_read_back_as_empty_arrays_not_null()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b
            .PutBlock(S0, Address(1), [])
            .PutEntry(S0, "empty", [])
            .PutMeta("empty", [])
            .PutRaftState(S0, [])
            .AppendLog(S0, Index(1), TermOf(1), []));
        Assert.Equal(Array.Empty<byte>(), await silo.ReadBlockAsync(Address(1)));
        Assert.Equal(Array.Empty<byte>(), await silo.ReadEntryAsync("empty"));
        Assert.Equal(Array.Empty<byte>(), await silo.ReadMetaAsync("empty"));
        Assert.Equal(Array.Empty<byte>(), await silo.ReadRaftStateAsync(S0));
        Assert.Equal(Array.Empty<byte>(), Assert.Single(await silo.ReadLogAsync(S0, Index(1), Index(2))).Data);
        Assert.Equal(Array.Empty<byte>(), Assert.Single(await silo.ScanEntriesAsync("empty", null, 10)).Value);
    }

    [Fact]
    public async Task Meta_values_are_stored_and_replaced_by_name()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutMeta("node-key", Bytes("k1")).PutMeta("network", Bytes("n")));
        await CommitAsync(silo, b => b.PutMeta("node-key", Bytes("k2")));
        Assert.Equal(Bytes("k2"), await silo.ReadMetaAsync("node-key"));
        Assert.Equal(Bytes("n"), await silo.ReadMetaAsync("network"));
        Assert.Null(await silo.ReadMetaAsync("Network"));
    }

    [Fact]
    public async Task Raft_state_is_kept_per_shard_and_replaced()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutRaftState(S0, Bytes("s0")).PutRaftState(S1, Bytes("s1")));
        await CommitAsync(silo, b => b.PutRaftState(S0, Bytes("s0'")));
        Assert.Equal(Bytes("s0'"), await silo.ReadRaftStateAsync(S0));
        Assert.Equal(Bytes("s1"), await silo.ReadRaftStateAsync(S1));
        Assert.Null(await silo.ReadRaftStateAsync(S2));
    }

    [Fact]
    public async Task Stored_values_are_not_changed_through_arrays_the_caller_keeps()
    {
        var silo = await NewSiloAsync();
        var value = Bytes("original");
        await CommitAsync(silo, b => b.PutEntry(S0, "k", value));
        value[0] = (byte)'X';
        var read = await silo.ReadEntryAsync("k");
        Assert.Equal(Bytes("original"), read);
        read![0] = (byte)'Y';
        Assert.Equal(Bytes("original"), await silo.ReadEntryAsync("k"));
    }

    // ---- raft log ----

    [Fact]
    public async Task Log_entries_read_back_in_index_order_within_the_requested_range()
    {
        var silo = await NewSiloAsync();
        await AppendRangeAsync(silo, S0, 1, 10, term: 3);
        await AppendRangeAsync(silo, S1, 1, 3, term: 7);

        var middle = await silo.ReadLogAsync(S0, Index(3), Index(6));
        Assert.Equal([3UL, 4, 5], middle.Select(e => e.Index.Value));
        Assert.All(middle, e => Assert.Equal(TermOf(3), e.Term));
        Assert.Equal(Bytes("0/4/3"), middle[1].Data);

        Assert.Equal(Range(1, 10), (await silo.ReadLogAsync(S0, LogIndex.Zero, Index(100))).Select(e => e.Index.Value));
        Assert.Equal(Range(8, 10), (await silo.ReadLogAsync(S0, Index(8), new LogIndex(ulong.MaxValue))).Select(e => e.Index.Value));
        Assert.Empty(await silo.ReadLogAsync(S0, Index(5), Index(5)));
        Assert.Empty(await silo.ReadLogAsync(S0, Index(7), Index(3)));
        Assert.Empty(await silo.ReadLogAsync(S0, Index(11), Index(20)));
        Assert.Empty(await silo.ReadLogAsync(S0, new LogIndex(ulong.MaxValue), new LogIndex(ulong.MaxValue)));
        Assert.Equal([1UL, 2, 3], await LogIndexesAsync(silo, S1));
        Assert.All(await silo.ReadLogAsync(S1, Index(1), Index(4)), e => Assert.Equal(TermOf(7), e.Term));
    }

    [Fact]
    public async Task A_shards_usage_counts_its_own_rows_and_bytes_and_follows_deletes_compaction_and_clearing()
    {
        var silo = await NewSiloAsync();
        Assert.Equal(SiloShardUsage.Empty, await silo.MeasureShardAsync(S0));
        await CommitAsync(silo, b => b
            .PutEntry(S0, "a", new byte[10]).PutEntry(S0, "é", new byte[20]).PutEntry(S1, "other", new byte[1000])
            .PutBlock(S0, Address(1), new byte[100]).PutBlockCopy(S0, Address(2), new byte[300]).PutBlockCopy(S1, Address(3), new byte[5]));
        await AppendRangeAsync(silo, S0, 1, 4);
        var logBytes = Enumerable.Range(1, 4).Sum(i => Bytes($"0/{i}/1").Length);

        // "é" is two bytes in UTF-8: keys count in the bytes they are stored as, not in characters.
        AssertUsage(new SiloShardUsage(2, 1 + 10 + 2 + 20, 1, BlockAddress.Length + 100, 1, BlockAddress.Length + 300, 4, logBytes),
            await silo.MeasureShardAsync(S0));
        AssertUsage(new SiloShardUsage(1, 5 + 1000, 0, 0, 1, BlockAddress.Length + 5, 0, 0), await silo.MeasureShardAsync(S1));

        await CommitAsync(silo, b => b.DeleteEntry("a").CompactLogThrough(S0, Index(2)));
        var after = await silo.MeasureShardAsync(S0);
        Assert.Equal(1L, after.Entries);
        if (StoresValuesAsGiven)
        {
            Assert.Equal(2L + 20, after.EntryBytes);
        }
        Assert.Equal(2, after.LogEntries);

        await CommitAsync(silo, b => b.ClearShard(S0));
        // Clearing a shard leaves its block copies: they live outside its Raft state.
        AssertUsage(new SiloShardUsage(0, 0, 0, 0, 1, BlockAddress.Length + 300, 0, 0), await silo.MeasureShardAsync(S0));
    }

    [Fact]
    public async Task Log_bounds_follow_appends_truncation_and_compaction()
    {
        var silo = await NewSiloAsync();
        await AppendRangeAsync(silo, S0, 1, 10);
        Assert.Equal(new SiloLogBounds(Index(1), Index(10)), await silo.ReadLogBoundsAsync(S0));
        await CommitAsync(silo, b => b.CompactLogThrough(S0, Index(4)).TruncateLogAfter(S0, Index(8)));
        Assert.Equal(new SiloLogBounds(Index(5), Index(8)), await silo.ReadLogBoundsAsync(S0));
        Assert.True((await silo.ReadLogBoundsAsync(S1)).IsEmpty);
    }

    [Fact]
    public async Task Appending_at_an_existing_index_overwrites_that_entry_only()
    {
        var silo = await NewSiloAsync();
        await AppendRangeAsync(silo, S0, 1, 5, term: 1);
        await CommitAsync(silo, b => b.AppendLog(S0, Index(3), TermOf(2), Bytes("new")));
        var log = await silo.ReadLogAsync(S0, Index(1), Index(6));
        Assert.Equal(Range(1, 5), log.Select(e => e.Index.Value));
        Assert.Equal([1UL, 1, 2, 1, 1], log.Select(e => e.Term.Value));
        Assert.Equal(Bytes("new"), log[2].Data);
    }

    [Fact]
    public async Task TruncateLogAfter_removes_the_suffix_of_that_shard_only()
    {
        var silo = await NewSiloAsync();
        await AppendRangeAsync(silo, S0, 1, 10);
        await AppendRangeAsync(silo, S1, 1, 10);
        await CommitAsync(silo, b => b.TruncateLogAfter(S0, Index(6)));
        Assert.Equal(Range(1, 6), await LogIndexesAsync(silo, S0));
        Assert.Equal(Range(1, 10), await LogIndexesAsync(silo, S1));

        await CommitAsync(silo, b => b.TruncateLogAfter(S1, new LogIndex(ulong.MaxValue)));
        Assert.Equal(Range(1, 10), await LogIndexesAsync(silo, S1));
        await CommitAsync(silo, b => b.TruncateLogAfter(S0, LogIndex.Zero));
        Assert.Empty(await LogIndexesAsync(silo, S0));
    }

    [Fact]
    public async Task CompactLogThrough_removes_the_prefix_of_that_shard_only()
    {
        var silo = await NewSiloAsync();
        await AppendRangeAsync(silo, S0, 1, 10);
        await AppendRangeAsync(silo, S1, 1, 10);
        await CommitAsync(silo, b => b.CompactLogThrough(S0, Index(4)));
        Assert.Equal(Range(5, 10), await LogIndexesAsync(silo, S0));
        Assert.Equal(Range(1, 10), await LogIndexesAsync(silo, S1));

        await CommitAsync(silo, b => b.CompactLogThrough(S1, LogIndex.Zero));
        Assert.Equal(Range(1, 10), await LogIndexesAsync(silo, S1));
        await CommitAsync(silo, b => b.CompactLogThrough(S1, new LogIndex(ulong.MaxValue)));
        Assert.Empty(await LogIndexesAsync(silo, S1));
    }

    [Fact]
    public async Task Log_indexes_and_terms_up_to_2_pow_63_minus_1_round_trip()
    {
        var silo = await NewSiloAsync();
        const ulong max = long.MaxValue;
        await CommitAsync(silo, b => b.AppendLog(S0, new LogIndex(max - 1), new Term(max), Bytes("a")).AppendLog(S0, new LogIndex(max), new Term(max), Bytes("b")));
        Assert.Equal(new SiloLogBounds(new LogIndex(max - 1), new LogIndex(max)), await silo.ReadLogBoundsAsync(S0));
        var all = await silo.ReadLogAsync(S0, new LogIndex(max - 1), new LogIndex(ulong.MaxValue));
        Assert.Equal([max - 1, max], all.Select(e => e.Index.Value));
        Assert.All(all, e => Assert.Equal(new Term(max), e.Term));
        Assert.Equal([max - 1], (await silo.ReadLogAsync(S0, LogIndex.Zero, new LogIndex(max))).Select(e => e.Index.Value));
    }

    // ---- validation ----

    public static TheoryData<string> MalformedBatches() => ["index 0", "index 2^63", "term 2^63", "lone surrogate key", "lone surrogate meta name"];

    [Theory]
    [MemberData(nameof(MalformedBatches))]
    public async Task A_batch_with_a_malformed_operation_is_rejected_and_nothing_of_it_applies(string malformation)
    {
        var silo = await NewSiloAsync();
        var batch = new SiloBatch().PutEntry(S0, "valid", Bytes("v"));
        _ = malformation switch
        {
            "index 0" => batch.AppendLog(S0, LogIndex.Zero, TermOf(1), Bytes("x")),
            "index 2^63" => batch.AppendLog(S0, new LogIndex(1UL << 63), TermOf(1), Bytes("x")),
            "term 2^63" => batch.AppendLog(S0, Index(1), new Term(1UL << 63), Bytes("x")),
            "lone surrogate key" => batch.PutEntry(S0, "a\uD800", Bytes("x")),
            "lone surrogate meta name" => batch.PutMeta("\uDC00", Bytes("x")),
            _ => throw new ArgumentOutOfRangeException(nameof(malformation)),
        };
        await Assert.ThrowsAnyAsync<ArgumentException>(() => silo.CommitAsync(batch));
        Assert.Null(await silo.ReadEntryAsync("valid"));
        Assert.True((await silo.ReadLogBoundsAsync(S0)).IsEmpty);
    }

    [Fact]
    public async Task Reads_and_scans_reject_bad_arguments()
    {
        var silo = await NewSiloAsync();
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await silo.ReadEntryAsync("\uD83D"));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await silo.ReadMetaAsync("x\uDE00"));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await silo.ScanEntriesAsync("\uD83D", null, 10));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await silo.ScanEntriesAsync("", "\uDE00", 10));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await silo.ScanEntriesAsync("", null, -1));
    }

    // ---- clear shard ----

    [Fact]
    public async Task ClearShard_removes_exactly_that_shards_blocks_entries_log_and_state()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b =>
        {
            foreach (var shard in new[] { S0, S1, S2 })
            {
                b.PutBlock(shard, Address(shard.Value), Bytes($"block{shard}"));
                b.PutEntry(shard, $"key{shard}", Bytes($"entry{shard}"));
                b.PutRaftState(shard, Bytes($"state{shard}"));
                b.AppendLog(shard, Index(1), TermOf(1), Bytes("e1")).AppendLog(shard, Index(2), TermOf(1), Bytes("e2"));
            }
            b.PutMeta("node", Bytes("meta"));
        });

        await CommitAsync(silo, b => b.ClearShard(S1));

        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        Assert.Null(await silo.ReadEntryAsync("key1"));
        Assert.Null(await silo.ReadRaftStateAsync(S1));
        Assert.True((await silo.ReadLogBoundsAsync(S1)).IsEmpty);
        foreach (var shard in new[] { S0, S2 })
        {
            Assert.Equal(Bytes($"block{shard}"), await silo.ReadBlockAsync(Address(shard.Value)));
            Assert.Equal(Bytes($"entry{shard}"), await silo.ReadEntryAsync($"key{shard}"));
            Assert.Equal(Bytes($"state{shard}"), await silo.ReadRaftStateAsync(shard));
            Assert.Equal([1UL, 2], await LogIndexesAsync(silo, shard));
        }
        Assert.Equal(["key0", "key2"], await ScanKeysAsync(silo, ""));
        Assert.Equal(Bytes("meta"), await silo.ReadMetaAsync("node"));
    }

    [Fact]
    public async Task ClearShard_then_puts_in_the_same_batch_leave_only_the_new_items()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutEntry(S1, "old", Bytes("o")).AppendLog(S1, Index(1), TermOf(1), Bytes("a")));
        await CommitAsync(silo, b => b.ClearShard(S1).PutEntry(S1, "new", Bytes("n")).AppendLog(S1, Index(7), TermOf(2), Bytes("s")));
        Assert.Equal(["new"], await ScanKeysAsync(silo, ""));
        Assert.Equal(new[] { 7UL }, await LogIndexesAsync(silo, S1));
    }

    // ---- batches: order, atomicity, FIFO, concurrency ----

    [Fact]
    public async Task Operations_in_one_batch_apply_in_order()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutEntry(S0, "put-then-delete", Bytes("x")).DeleteEntry("put-then-delete")
            .DeleteEntry("delete-then-put").PutEntry(S0, "delete-then-put", Bytes("y"))
            .PutEntry(S0, "twice", Bytes("1")).PutEntry(S0, "twice", Bytes("2"))
            .AppendLog(S0, Index(1), TermOf(1), Bytes("a")).TruncateLogAfter(S0, LogIndex.Zero).AppendLog(S0, Index(1), TermOf(2), Bytes("b")));
        Assert.Null(await silo.ReadEntryAsync("put-then-delete"));
        Assert.Equal(Bytes("y"), await silo.ReadEntryAsync("delete-then-put"));
        Assert.Equal(Bytes("2"), await silo.ReadEntryAsync("twice"));
        Assert.Equal(TermOf(2), Assert.Single(await silo.ReadLogAsync(S0, Index(1), Index(2))).Term);
    }

    [Fact]
    public async Task A_batch_that_fails_midway_leaves_nothing_behind_and_the_silo_stays_usable()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutEntry(S0, "k", Bytes("old")).PutEntry(S1, "s1", Bytes("kept")).AppendLog(S0, Index(1), TermOf(1), Bytes("a")));
        SetFaultInjector(silo, op => op is SiloOperation.PutEntry { Key: "boom" } ? new IOException("injected fault") : null);

        var failing = new SiloBatch()
            .PutEntry(S0, "k", Bytes("new"))
            .PutBlock(S0, Address(1), Bytes("block"))
            .AppendLog(S0, Index(2), TermOf(1), Bytes("b"))
            .TruncateLogAfter(S0, LogIndex.Zero)
            .PutMeta("m", Bytes("meta"))
            .ClearShard(S1)
            .PutEntry(S0, "boom", Bytes("x"))
            .PutEntry(S0, "after", Bytes("y"));
        var error = await Assert.ThrowsAsync<IOException>(() => silo.CommitAsync(failing));
        Assert.Equal("injected fault", error.Message);

        Assert.Equal(Bytes("old"), await silo.ReadEntryAsync("k"));
        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        Assert.Equal(new[] { 1UL }, await LogIndexesAsync(silo, S0));
        Assert.Null(await silo.ReadMetaAsync("m"));
        Assert.Equal(Bytes("kept"), await silo.ReadEntryAsync("s1"));
        Assert.Equal(["k", "s1"], await ScanKeysAsync(silo, ""));

        SetFaultInjector(silo, null);
        await silo.CommitAsync(failing);
        Assert.Equal(["after", "boom", "k"], await ScanKeysAsync(silo, ""));
    }

    [Fact]
    public async Task A_failing_batch_fails_alone_among_concurrent_commits()
    {
        var silo = await NewSiloAsync();
        SetFaultInjector(silo, op => op is SiloOperation.PutEntry { Key: "bad-2" } ? new IOException("injected fault") : null);
        var tasks = new List<Task>();
        for (var i = 0; i < 20; i++)
        {
            var n = i;
            tasks.Add(CommitAsync(silo, b => b.PutEntry(S0, $"good-{n:D2}", Bytes("g"))));
            tasks.Add(CommitAsync(silo, b => b.PutEntry(S0, $"bad-1-{n:D2}", Bytes("b")).PutEntry(S0, n == 7 ? "bad-2" : $"bad-2-{n:D2}", Bytes("b"))));
        }
        var failures = 0;
        foreach (var task in tasks)
        {
            try
            {
                await task;
            }
            catch (IOException)
            {
                failures++;
            }
        }
        Assert.Equal(1, failures);
        var keys = await ScanKeysAsync(silo, "");
        Assert.Equal(20, keys.Count(k => k.StartsWith("good-", StringComparison.Ordinal)));
        Assert.DoesNotContain("bad-1-07", keys);
        Assert.DoesNotContain("bad-2", keys);
        Assert.Equal(38, keys.Count(k => k.StartsWith("bad-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Of_two_concurrent_commits_to_one_key_the_later_call_wins()
    {
        var silo = await NewSiloAsync();
        for (var round = 0; round < 50; round++)
        {
            var key = $"key{round}";
            var earlier = CommitAsync(silo, b => b.PutEntry(S0, key, Bytes("earlier")));
            var later = CommitAsync(silo, b => b.PutEntry(S0, key, Bytes("later")));
            await Task.WhenAll(earlier, later);
            Assert.Equal(Bytes("later"), await silo.ReadEntryAsync(key));
        }
    }

    [Fact]
    public async Task Commits_complete_in_call_order()
    {
        var silo = await NewSiloAsync();
        var tasks = Enumerable.Range(0, 300).Select(i => CommitAsync(silo, b => b.AppendLog(S0, Index((ulong)i + 1), TermOf(1), Bytes("e")))).ToArray();
        await tasks[^1];
        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(new SiloLogBounds(Index(1), Index(300)), await silo.ReadLogBoundsAsync(S0));
    }

    [Fact]
    public async Task An_empty_batch_completes_after_every_earlier_commit()
    {
        var silo = await NewSiloAsync();
        var tasks = Enumerable.Range(0, 100).Select(i => CommitAsync(silo, b => b.PutEntry(S0, $"k{i:D3}", Bytes("v")))).ToArray();
        await silo.CommitAsync(new SiloBatch());
        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(100, (await silo.ScanEntriesAsync("k", null, 1000)).Count);
    }

    [Fact]
    public async Task A_thousand_concurrent_commits_are_all_visible_once_complete()
    {
        var silo = await NewSiloAsync();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var commits = Enumerable.Range(0, 1000).Select(i => Task.Run(async () =>
        {
            await start.Task;
            await CommitAsync(silo, b => b.PutEntry(new ShardId(i % 8), $"c{i:D4}", Bytes($"v{i}")).AppendLog(new ShardId(i), Index(1), TermOf(1), Bytes("e")));
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(commits);

        var all = await silo.ScanEntriesAsync("c", null, 5000);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"c{i:D4}"), all.Select(e => e.Key));
        Assert.All(all, e => Assert.Equal(Bytes($"v{int.Parse(e.Key[1..], System.Globalization.CultureInfo.InvariantCulture)}"), e.Value));
        Assert.Equal(new SiloLogBounds(Index(1), Index(1)), await silo.ReadLogBoundsAsync(new ShardId(999)));
    }

    [Fact]
    public async Task A_commit_with_an_already_cancelled_token_applies_nothing()
    {
        var silo = await NewSiloAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", Bytes("v")), cancelled.Token));
        await silo.CommitAsync(new SiloBatch());
        Assert.Null(await silo.ReadEntryAsync("k"));
    }

    // ---- scans ----

    [Fact]
    public async Task A_scan_past_a_prefix_skips_every_key_under_it_even_those_continuing_with_the_largest_code_point()
    {
        var silo = await NewSiloAsync();
        string[] keys = ["a", "b/", "b/x", "b/􏿿", "b/􏿿􏿿z", "b0", "b􏿿", "c/􏿿", "d"];
        await CommitAsync(silo, b => Array.ForEach(keys, k => b.PutEntry(S0, k, Bytes(k))));

        Assert.Equal(["b0", "b􏿿", "c/􏿿", "d"], (await silo.ScanEntriesPastAsync("", "b/", 10)).Select(e => e.Key));
        Assert.Equal(["b0"], (await silo.ScanEntriesPastAsync("b", "b/", 1)).Select(e => e.Key));
        // Past "b\U0010FFFF": the next string above all its keys is "c", not a string the prefix "b" allows.
        Assert.Empty(await silo.ScanEntriesPastAsync("b", "b\U0010FFFF", 10));
        // A skipped prefix below the listing prefix starts at the listing prefix.
        Assert.Equal(["c/\U0010FFFF"], (await silo.ScanEntriesPastAsync("c", "a", 10)).Select(e => e.Key));
        // Nothing sorts above every string starting with U+10FFFF.
        Assert.Empty(await silo.ScanEntriesPastAsync("", "\U0010FFFF", 10));
    }

    [Fact]
    public async Task Scan_returns_the_keys_with_the_prefix_in_utf8_byte_order()
    {
        var silo = await NewSiloAsync();
        string[] keys = ["a", "ab", "a%", "a_", "aé", "a😀", "a\uFFFF", "a\uE000", "a\u00FF", "b", "é", "%", "_", "", "😀", "\uFFFF", "A"];
        await CommitAsync(silo, b => Array.ForEach(keys, k => b.PutEntry(S0, k, Bytes(k))));

        // UTF-8 byte order: '%' 0x25 < 'A' 0x41 < '_' 0x5F < 'b' < U+00E9/U+00FF (C3 xx) < U+E000 (EE) < U+FFFF (EF) < U+1F600 (F0).
        Assert.Equal(["a", "a%", "a_", "ab", "a\u00E9", "a\u00FF", "a\uE000", "a\uFFFF", "a😀"], await ScanKeysAsync(silo, "a"));
        Assert.Equal(["", "%", "A", "_", "a", "a%", "a_", "ab", "a\u00E9", "a\u00FF", "a\uE000", "a\uFFFF", "a😀", "b", "é", "\uFFFF", "😀"], await ScanKeysAsync(silo, ""));
        var entry = (await silo.ScanEntriesAsync("aé", null, 10)).Single();
        Assert.Equal(("aé", S0), (entry.Key, entry.Shard));
        Assert.Equal(Bytes("aé"), entry.Value);
    }

    [Fact]
    public async Task Scan_treats_percent_and_underscore_as_plain_characters()
    {
        var silo = await NewSiloAsync();
        string[] keys = ["a%b", "axb", "a_c", "ayc", "a%", "a_", "%", "_x", "ab%"];
        await CommitAsync(silo, b => Array.ForEach(keys, k => b.PutEntry(S0, k, Bytes(k))));
        Assert.Equal(["a%", "a%b"], await ScanKeysAsync(silo, "a%"));
        Assert.Equal(["a_", "a_c"], await ScanKeysAsync(silo, "a_"));
        Assert.Equal(["%"], await ScanKeysAsync(silo, "%"));
        Assert.Equal(["_x"], await ScanKeysAsync(silo, "_"));
        Assert.Equal(["ab%"], await ScanKeysAsync(silo, "ab"));
    }

    [Fact]
    public async Task Scan_with_a_prefix_nothing_matches_returns_nothing()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutEntry(S0, "a", Bytes("1")).PutEntry(S0, "c", Bytes("2")).PutEntry(S0, "\U0010FFFE", Bytes("3")));
        Assert.Empty(await ScanKeysAsync(silo, "b"));
        Assert.Empty(await ScanKeysAsync(silo, "zz"));
        Assert.Empty(await ScanKeysAsync(silo, "a\0"));
        Assert.Empty(await ScanKeysAsync(silo, "\U0010FFFF"));
        Assert.Empty(await ScanKeysAsync(silo, "ab"));
    }

    [Fact]
    public async Task Scan_prefixes_at_code_point_edges_select_exactly_their_keys()
    {
        var silo = await NewSiloAsync();
        string[] keys = ["x\uD7FF", "x\uE000", "x\uFFFF", "x\uFFFFa", "x\U00010000", "x\U0010FFFF", "x\U0010FFFFz", "x\U0010FFFF\U0010FFFF", "y", "w", "x\0", "x"];
        await CommitAsync(silo, b => Array.ForEach(keys, k => b.PutEntry(S0, k, Bytes(k))));
        Assert.Equal(["x", "x\0", "x\uD7FF", "x\uE000", "x\uFFFF", "x\uFFFFa", "x\U00010000", "x\U0010FFFF", "x\U0010FFFFz", "x\U0010FFFF\U0010FFFF"], await ScanKeysAsync(silo, "x"));
        Assert.Equal(["x\uFFFF", "x\uFFFFa"], await ScanKeysAsync(silo, "x\uFFFF"));
        Assert.Equal(["x\uD7FF"], await ScanKeysAsync(silo, "x\uD7FF"));
        Assert.Equal(["x\U00010000"], await ScanKeysAsync(silo, "x\U00010000"));
        Assert.Equal(["x\U0010FFFF", "x\U0010FFFFz", "x\U0010FFFF\U0010FFFF"], await ScanKeysAsync(silo, "x\U0010FFFF"));
        Assert.Equal(["x\U0010FFFF\U0010FFFF"], await ScanKeysAsync(silo, "x\U0010FFFF\U0010FFFF"));
        Assert.Equal(["x\0"], await ScanKeysAsync(silo, "x\0"));
    }

    [Fact]
    public async Task Scan_after_starts_strictly_after_the_given_key()
    {
        var silo = await NewSiloAsync();
        string[] keys = ["a", "b1", "b2", "b3", "b4", "c"];
        await CommitAsync(silo, b => Array.ForEach(keys, k => b.PutEntry(S0, k, Bytes(k))));
        Assert.Equal(["b3", "b4"], await ScanKeysAsync(silo, "b", after: "b2"));
        Assert.Equal(["b3", "b4"], await ScanKeysAsync(silo, "b", after: "b25"));
        Assert.Equal(["b1", "b2", "b3", "b4"], await ScanKeysAsync(silo, "b", after: "a"));
        Assert.Equal(["b1", "b2", "b3", "b4"], await ScanKeysAsync(silo, "b", after: "b"));
        Assert.Empty(await ScanKeysAsync(silo, "b", after: "b4"));
        Assert.Empty(await ScanKeysAsync(silo, "b", after: "c"));
        Assert.Equal(["b1", "b2", "b3", "b4", "c"], await ScanKeysAsync(silo, "", after: "a"));
        Assert.Equal(["a", "b1", "b2", "b3", "b4", "c"], await ScanKeysAsync(silo, "", after: ""));
    }

    [Fact]
    public async Task Scan_limit_caps_the_result_and_zero_returns_nothing()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => Enumerable.Range(0, 10).ToList().ForEach(i => b.PutEntry(S0, $"k{i}", Bytes("v"))));
        Assert.Equal(["k0", "k1", "k2"], await ScanKeysAsync(silo, "k", limit: 3));
        Assert.Equal(["k4"], await ScanKeysAsync(silo, "k", after: "k3", limit: 1));
        Assert.Empty(await ScanKeysAsync(silo, "k", limit: 0));
        Assert.Equal(10, (await ScanKeysAsync(silo, "k", limit: int.MaxValue)).Length);
    }

    [Fact]
    public async Task Paging_a_scan_with_after_visits_every_key_once_in_order()
    {
        var silo = await NewSiloAsync();
        var keys = Enumerable.Range(0, 500).Select(i => $"p/{i * 7919 % 500:D3}{(i % 3 == 0 ? "é" : "")}").ToArray();
        await CommitAsync(silo, b => Array.ForEach(keys, k => b.PutEntry(S1, k, Bytes(k))));
        await CommitAsync(silo, b => b.PutEntry(S1, "p", Bytes("not in p/")).PutEntry(S1, "q/1", Bytes("after p/")));

        var seen = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await silo.ScanEntriesAsync("p/", after, 37);
            if (page.Count == 0)
            {
                break;
            }
            seen.AddRange(page.Select(e => e.Key));
            after = page[^1].Key;
        }
        Assert.Equal(keys.Order(EntryKeyOrder.Comparer), seen);
    }

    // ---- shard scan ----

    [Fact]
    public async Task Shard_scan_returns_the_shards_blocks_in_address_order_then_its_entries_in_key_order()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b
            .PutBlock(S1, Address(3), Bytes("b3")).PutBlock(S1, Address(1), Bytes("b1")).PutBlock(S0, Address(2), Bytes("other"))
            .PutEntry(S1, "z", Bytes("ez")).PutEntry(S1, "é", Bytes("e-acute")).PutEntry(S1, "a", Bytes("ea")).PutEntry(S2, "b", Bytes("other")));

        var records = await silo.ScanShardAsync(S1, null, 100);

        Assert.Equal(["b1", "b3", "ea", "ez", "e-acute"], records.Select(r => Encoding.UTF8.GetString(r.Value)));
        Assert.Equal([Address(1), Address(3)], records.Take(2).Select(r => r.Block!.Value));
        Assert.Equal(["a", "z", "é"], records.Skip(2).Select(r => r.Key!));
        Assert.Empty(await silo.ScanShardAsync(new ShardId(7), null, 100));
        Assert.Empty(await silo.ScanShardAsync(S1, null, 0));
    }

    [Fact]
    public async Task A_record_put_again_under_another_shard_moves_to_that_shard_and_an_overwrite_stays()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b => b.PutBlock(S0, Address(1), Bytes("b")).PutEntry(S0, "k", Bytes("e")).PutBlockCopy(S0, Address(2), Bytes("c")));
        // An overwrite in the same shard (the common case, which the SQLite silo writes without touching its shard index).
        await CommitAsync(silo, b => b.PutBlock(S0, Address(1), Bytes("b'")).PutEntry(S0, "k", Bytes("e'")).PutBlockCopy(S0, Address(2), Bytes("c'")));
        Assert.Equal(["b'", "e'"], (await silo.ScanShardAsync(S0, null, 10)).Select(r => Encoding.UTF8.GetString(r.Value)));
        Assert.Equal([Address(2)], await silo.ListBlockCopiesAsync(S0, null, 10));

        await CommitAsync(silo, b => b.PutBlock(S1, Address(1), Bytes("b1")).PutEntry(S1, "k", Bytes("e1")).PutBlockCopy(S1, Address(2), Bytes("c1")));

        Assert.Empty(await silo.ScanShardAsync(S0, null, 10));
        Assert.Equal(["b1", "e1"], (await silo.ScanShardAsync(S1, null, 10)).Select(r => Encoding.UTF8.GetString(r.Value)));
        Assert.Empty(await silo.ListBlockCopiesAsync(S0, null, 10));
        Assert.Equal([Address(2)], await silo.ListBlockCopiesAsync(S1, null, 10));
        Assert.Equal(Bytes("c1"), await silo.ReadBlockAsync(Address(2)));
    }

    [Fact]
    public async Task Paging_a_shard_scan_visits_every_record_once_across_blocks_and_entries()
    {
        var silo = await NewSiloAsync();
        await CommitAsync(silo, b =>
        {
            for (var i = 0; i < 23; i++)
            {
                b.PutBlock(S2, Address(i * 7 % 23), Bytes($"b{i}")).PutEntry(S2, $"k{i:D2}", Bytes($"e{i}"));
            }
            b.PutEntry(S1, "k05x", Bytes("other shard"));
        });
        await CommitAsync(silo, b => b.DeleteEntry("k03").DeleteBlock(Address(4)).ClearShard(S0));

        var seen = new List<SiloShardRecord>();
        SiloShardPosition? after = null;
        for (var pages = 0; pages < 100; pages++)
        {
            var page = await silo.ScanShardAsync(S2, after, 5);
            if (page.Count == 0)
            {
                break;
            }
            Assert.True(page.Count <= 5);
            seen.AddRange(page);
            after = page[^1].Position;
        }

        Assert.Equal(Enumerable.Range(0, 23).Where(i => i != 4).Select(Address), seen.Where(r => r.Block is not null).Select(r => r.Block!.Value));
        Assert.Equal(Enumerable.Range(0, 23).Where(i => i != 3).Select(i => $"k{i:D2}"), seen.Where(r => r.Key is not null).Select(r => r.Key!));
        Assert.Equal(44, seen.Count);
    }

    [Fact]
    public async Task Shard_scan_rejects_a_position_naming_both_or_neither()
    {
        var silo = await NewSiloAsync();
        await Assert.ThrowsAsync<ArgumentException>(async () => await silo.ScanShardAsync(S0, new SiloShardPosition(null, null), 1));
        await Assert.ThrowsAsync<ArgumentException>(async () => await silo.ScanShardAsync(S0, new SiloShardPosition(Address(1), "k"), 1));
    }

    // ---- dispose ----

    [Fact]
    public async Task Dispose_completes_every_queued_commit()
    {
        var silo = await CreateSiloAsync();
        var tasks = Enumerable.Range(0, 500).Select(i => CommitAsync(silo, b => b.PutEntry(S0, $"k{i}", Bytes("v")))).ToArray();
        await silo.DisposeAsync();
        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task Commits_and_reads_after_dispose_throw_ObjectDisposedException()
    {
        var silo = await CreateSiloAsync();
        await CommitAsync(silo, b => b.PutEntry(S0, "k", Bytes("v")));
        await silo.DisposeAsync();
        await silo.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => silo.CommitAsync(new SiloBatch().PutEntry(S0, "k2", Bytes("v"))));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await silo.ReadEntryAsync("k"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await silo.ScanEntriesAsync("", null, 10));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await silo.ReadLogBoundsAsync(S0));
    }
}
