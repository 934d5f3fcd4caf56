using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Microsoft.Data.Sqlite;

namespace Memo.Node.Tests.Storage;

/// <summary>
/// Block copies above <see cref="SqliteSiloOptions.CopyFileThreshold"/> live in copy files of their own (one per copy,
/// named by address and file id, under <c>memo.db-blocks/</c>), their rows naming the file: what only the files show
/// (the contract suite runs over them too, <see cref="SqliteSiloCopyFileContractTests"/>).
/// </summary>
public sealed class SqliteSiloCopyFileTests : IAsyncLifetime
{
    private const int Threshold = 1024;
    private static readonly ShardId S0 = new(0);

    private readonly TempDirectory _directory = new();
    private readonly List<SqliteSilo> _silos = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
        _directory.Dispose();
    }

    // No spares by default: these tests watch the files of replaced copies go (the spares have their own tests).
    private SqliteSiloOptions Options => new() { DataDirectory = _directory.Path, CopyFileThreshold = Threshold, CopyFileSpares = 0 };

    private string CopyFolder => Path.Combine(_directory.Path, "memo.db-blocks");

    private async Task<SqliteSilo> OpenAsync(SqliteSiloOptions? options = null)
    {
        var silo = await SqliteSilo.OpenAsync(options ?? Options);
        _silos.Add(silo);
        return silo;
    }

    private async Task CloseAsync(SqliteSilo silo)
    {
        _silos.Remove(silo);
        await silo.DisposeAsync();
    }

    private static BlockAddress Address(int n)
    {
        var bytes = new byte[BlockAddress.Length];
        bytes[0] = (byte)(n * 37);
        bytes[^2] = (byte)n;
        bytes[^1] = 1;
        return BlockAddress.FromBytes(bytes);
    }

    private static byte[] Data(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private string[] CopyFiles() => Directory.Exists(CopyFolder) ? Directory.GetFiles(CopyFolder, "*", SearchOption.AllDirectories) : [];

    private static string HexOf(BlockAddress address) => Convert.ToHexStringLower(address.ToArray());

    // Every commit completes before the writer unlinks the files it made obsolete: a barrier commit completes after that.
    private static Task BarrierAsync(ISilo silo) => silo.CommitAsync(new SiloBatch());

    private static (long? FileId, long? FileLength, long DataLength) Row(string databasePath, BlockAddress address)
    {
        SqliteSilo.EnsureSqliteInitialized();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT file_id, file_length, length(data) FROM block_copies WHERE address = $a";
        command.Parameters.AddWithValue("$a", address.ToArray());
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read(), $"no row for {address}");
        return (reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetInt64(2));
    }

    [Fact]
    public async Task A_copy_above_the_threshold_is_stored_in_its_file_and_reads_back_after_reopening()
    {
        var silo = await OpenAsync();
        var large = Data(1, Threshold + 1);
        var small = Data(2, Threshold);
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), large).PutBlockCopy(S0, Address(2), small));

        var file = Assert.Single(CopyFiles());
        Assert.Equal(large, await File.ReadAllBytesAsync(file));
        Assert.StartsWith(HexOf(Address(1)) + ".", Path.GetFileName(file), StringComparison.Ordinal);
        Assert.Equal(HexOf(Address(1))[..2], Path.GetFileName(Path.GetDirectoryName(file)));
        var path = silo.FilePath;
        await CloseAsync(silo);
        var inFile = Row(path, Address(1));
        Assert.Equal(((long?)large.Length, 0L), (inFile.FileLength, inFile.DataLength));
        Assert.Equal((null, null, (long)small.Length), Row(path, Address(2)));

        var reopened = await OpenAsync();
        Assert.Equal(large, await reopened.ReadBlockAsync(Address(1)));
        Assert.Equal(small, await reopened.ReadBlockAsync(Address(2)));
        Assert.Equal([Address(1), Address(2)], (await reopened.ListBlockCopiesAsync(S0, null, 10)).Order());
        var usage = await reopened.MeasureShardAsync(S0);
        Assert.Equal((2L, 2L * BlockAddress.Length + large.Length + small.Length), (usage.Copies, usage.CopyBytes));
        Assert.Equal([file], CopyFiles());
    }

    [Fact]
    public async Task Replacing_deleting_and_reclaiming_a_copy_unlink_its_file_once_committed()
    {
        var silo = await OpenAsync();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)).PutBlockCopy(S0, Address(2), Data(2, 6000)));
        var first = CopyFiles().Single(f => Path.GetFileName(f).StartsWith(HexOf(Address(1)), StringComparison.Ordinal));

        // Written again (the same block, or sealed again with other bytes): a new file, the old one unlinked (by the
        // copy file threads, after the commit: waited for).
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(3, 7000)));
        await CopyFilesSettleAsync(files => files.Length == 2, "the replaced file unlinked");
        Assert.False(File.Exists(first));
        Assert.Equal(Data(3, 7000), await silo.ReadBlockAsync(Address(1)));

        // Replaced by a copy small enough for its row: no file left for it.
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(4, 10)));
        await CopyFilesSettleAsync(files => files.Length == 1, "the file of the copy now in its row unlinked");
        Assert.Equal(Data(4, 10), await silo.ReadBlockAsync(Address(1)));

        await silo.CommitAsync(new SiloBatch().DeleteBlockCopy(Address(2)));
        await CopyFilesSettleAsync(files => files.Length == 0, "the deleted copy's file unlinked");
        Assert.Null(await silo.ReadBlockAsync(Address(2)));

        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(3), Data(5, 5000)));
        await silo.CommitAsync(new SiloBatch().DeleteBlock(Address(3)));
        await CopyFilesSettleAsync(files => files.Length == 0, "the reclaimed copy's file unlinked");
        Assert.True(await silo.IsBlockRemovedAsync(Address(3)));
    }

    [Fact]
    public async Task A_replaced_copy_file_is_unlinked_off_the_writer_and_one_left_by_a_crash_before_its_unlink_is_swept_at_open()
    {
        var disk = new HeldDeletes();
        SystemCopyFileDisk.Override(_directory.Path, disk);
        try
        {
            var silo = await OpenAsync();
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)));
            var old = Assert.Single(CopyFiles());

            // The unlink is held, yet the replacing commit and the ones after it are acknowledged: nothing waits for it.
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(2, 6000)));
            // (An unlink on the writer thread would hold these: they would time out.)
            await BarrierAsync(silo).WaitAsync(TimeSpan.FromSeconds(30));
            await BarrierAsync(silo).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(disk.DeleteStarted.Wait(TimeSpan.FromSeconds(30)), "the replaced file's unlink was never started");
            Assert.True(File.Exists(old));
            Assert.Equal(Data(2, 6000), await silo.ReadBlockAsync(Address(1)));

            // A crash now: what is on disk is the committed database and both files. The copy of that state opens with
            // the replaced file swept as an orphan and the committed copy read from its file.
            using var crashed = new TempDirectory();
            CopyTree(_directory.Path, crashed.Path);
            var reopened = await OpenAsync(Options with { DataDirectory = crashed.Path });
            var left = Directory.GetFiles(Path.Combine(crashed.Path, "memo.db-blocks"), "*", SearchOption.AllDirectories);
            Assert.Equal(Path.GetFileName(CopyFiles().Single(f => f != old)), Path.GetFileName(Assert.Single(left)));
            Assert.Equal(Data(2, 6000), await reopened.ReadBlockAsync(Address(1)));
            await CloseAsync(reopened);

            // Let go, the held unlink happens.
            disk.Release.Set();
            await CopyFilesSettleAsync(files => !files.Contains(old), "the held unlink done once released");
            Assert.Single(CopyFiles());
        }
        finally
        {
            disk.Release.Set();
            SystemCopyFileDisk.RemoveOverride(_directory.Path);
        }
    }

    // The real disk, whose unlinks wait until released (the copy file threads' unlink of a replaced copy, held).
    private sealed class HeldDeletes : ICopyFileDisk
    {
        public ManualResetEventSlim DeleteStarted { get; } = new();
        public ManualResetEventSlim Release { get; } = new();

        public void CreateFolder(string path) => SystemCopyFileDisk.Instance.CreateFolder(path);
        public void WriteNewFile(string path, ReadOnlySpan<byte> data, bool flush) => SystemCopyFileDisk.Instance.WriteNewFile(path, data, flush);
        public void FlushFolder(string path) => SystemCopyFileDisk.Instance.FlushFolder(path);
        public void ReuseFile(string sparePath, string path, ReadOnlySpan<byte> data, bool flush) => SystemCopyFileDisk.Instance.ReuseFile(sparePath, path, data, flush);

        public void DeleteFile(string path)
        {
            DeleteStarted.Set();
            Release.Wait();
            SystemCopyFileDisk.Instance.DeleteFile(path);
        }
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var folder in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, folder)));
        }
        // The -shm file is SQLite's shared memory index, rebuilt from the WAL when a crashed database opens.
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("-shm", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    // Unlinks of replaced copies happen on the copy file threads after their commit: waited for, not assumed.
    private async Task CopyFilesSettleAsync(Func<string[], bool> settled, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!settled(CopyFiles()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 30 s: {what}; files: {string.Join(", ", CopyFiles())}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task A_batch_that_fails_leaves_no_copy_file_and_the_copy_it_would_replace_intact()
    {
        var silo = await OpenAsync();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)));
        var kept = Assert.Single(CopyFiles());
        silo.FaultInjector = op => op is SiloOperation.PutEntry { Key: "fail" } ? new IOException("injected") : null;

        await Assert.ThrowsAsync<IOException>(() => silo.CommitAsync(new SiloBatch()
            .PutBlockCopy(S0, Address(1), Data(2, 6000)).PutBlockCopy(S0, Address(2), Data(3, 6000)).PutEntry(S0, "fail", [1])));
        await BarrierAsync(silo);

        Assert.Equal([kept], CopyFiles());
        Assert.Equal(Data(1, 5000), await silo.ReadBlockAsync(Address(1)));
        Assert.Null(await silo.ReadBlockAsync(Address(2)));
    }

    [Fact]
    public async Task A_batch_cancelled_while_waiting_for_room_in_the_queue_leaves_no_copy_file()
    {
        var silo = await OpenAsync(Options with { QueueCapacity = 1 });
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // The writer blocks in the first batch, so the queue (room for one) fills and the copy's batch waits for room.
        silo.FaultInjector = op =>
        {
            if (op is SiloOperation.PutEntry { Key: "hold" })
            {
                holding.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }
            return null;
        };
        var held = silo.CommitAsync(new SiloBatch().PutEntry(S0, "hold", [1]));
        // Only once the writer holds it: a batch queued earlier could join its group and leave room in the queue.
        Assert.True(holding.Wait(TimeSpan.FromSeconds(30)), "the writer did not start the first batch within 30 s");
        var queued = silo.CommitAsync(new SiloBatch().PutEntry(S0, "queued", [2]));
        using var cancel = new CancellationTokenSource();
        var dropped = silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)), cancel.Token);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dropped);
        release.Set();
        await Task.WhenAll(held, queued);
        await BarrierAsync(silo);

        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        // Its file was being written when the batch was dropped: it goes once written.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (CopyFiles().Length > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the dropped batch's copy file is still there after 30 s: {string.Join(", ", CopyFiles())}");
            await Task.Delay(20); // polling pause: the loop re-checks the folder
        }
    }

    [Fact]
    public async Task Batches_racing_on_one_address_leave_one_file_holding_the_last_committed_copy()
    {
        var silo = await OpenAsync();
        // Different lengths, so a row naming one batch's file while holding another's length would show.
        var writes = Enumerable.Range(0, 16).Select(i => silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(i, 2000 + i * 100)))).ToArray();
        await Task.WhenAll(writes);
        await BarrierAsync(silo);

        var stored = await silo.ReadBlockAsync(Address(1));
        // Commits are applied in call order, so the last call's copy is the one kept.
        Assert.Equal(Data(15, 3500), stored);
        await CopyFilesSettleAsync(files => files.Length == 1, "every replaced file unlinked");
    }

    [Fact]
    public async Task A_file_that_no_row_names_is_removed_when_the_silo_opens_and_new_files_never_reuse_its_id()
    {
        var silo = await OpenAsync();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)));
        await CloseAsync(silo);
        var named = Assert.Single(CopyFiles());
        // A crash after a file was written and before its row committed leaves a file like this one (a high id).
        var orphanFolder = Path.Combine(CopyFolder, HexOf(Address(2))[..2]);
        Directory.CreateDirectory(orphanFolder);
        var orphan = Path.Combine(orphanFolder, HexOf(Address(2)) + ".900");
        await File.WriteAllBytesAsync(orphan, Data(2, 5000));
        var foreign = Path.Combine(CopyFolder, HexOf(Address(2))[..2], "README");
        await File.WriteAllTextAsync(foreign, "not a copy file");

        var reopened = await OpenAsync();

        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(named));
        Assert.True(File.Exists(foreign), "a file whose name is not a copy file's is left alone");
        Assert.Null(await reopened.ReadBlockAsync(Address(2)));
        Assert.Equal(Data(1, 5000), await reopened.ReadBlockAsync(Address(1)));
        await reopened.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(2), Data(3, 5000)));
        var ids = CopyFiles().Select(f => Path.GetFileName(f)).Where(n => n.StartsWith(HexOf(Address(2)), StringComparison.Ordinal))
            .Select(n => long.Parse(n[(n.IndexOf('.', StringComparison.Ordinal) + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(Assert.Single(ids) > 900, "a new file id starts above every id found on disk");
        Assert.Equal(Data(3, 5000), await reopened.ReadBlockAsync(Address(2)));
    }

    [Fact]
    public async Task A_copy_whose_file_is_gone_or_cut_short_fails_its_read_with_SiloCorruptException_and_the_silo_keeps_serving()
    {
        var silo = await OpenAsync();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)).PutBlockCopy(S0, Address(2), Data(2, 5000)).PutBlockCopy(S0, Address(3), Data(3, 5000)));
        var files = CopyFiles();
        var gone = files.Single(f => Path.GetFileName(f).StartsWith(HexOf(Address(1)), StringComparison.Ordinal));
        var cut = files.Single(f => Path.GetFileName(f).StartsWith(HexOf(Address(2)), StringComparison.Ordinal));
        File.Delete(gone);
        await using (var stream = new FileStream(cut, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(4000);
        }

        var missing = await Assert.ThrowsAsync<SiloCorruptException>(async () => await silo.ReadBlockAsync(Address(1)));
        Assert.Equal(gone, missing.FilePath);
        Assert.Contains("missing", missing.Message, StringComparison.Ordinal);
        var shortened = await Assert.ThrowsAsync<SiloCorruptException>(async () => await silo.ReadBlockAsync(Address(2)));
        Assert.Contains("4000 bytes where its row says 5000", shortened.Message, StringComparison.Ordinal);
        // A head read (a reclaim's) meets the same damage the same way.
        Assert.Equal(gone, (await Assert.ThrowsAsync<SiloCorruptException>(async () => await silo.ReadBlockHeadAsync(Address(1)))).FilePath);
        Assert.Contains("4000 bytes where its row says 5000",
            (await Assert.ThrowsAsync<SiloCorruptException>(async () => await silo.ReadBlockHeadAsync(Address(2)))).Message, StringComparison.Ordinal);

        // Everything else still works, and dropping the damaged copies (what the block layer does) clears the error.
        Assert.Equal(Data(3, 5000), await silo.ReadBlockAsync(Address(3)));
        await silo.CommitAsync(new SiloBatch().DeleteBlockCopy(Address(1)).DeleteBlockCopy(Address(2)).PutEntry(S0, "k", [1]));
        Assert.Null(await silo.ReadBlockAsync(Address(1)));
        Assert.Null(await silo.ReadBlockAsync(Address(2)));
        Assert.Equal([1], await silo.ReadEntryAsync("k"));
    }

    [Fact]
    public async Task A_head_read_of_a_copy_file_gives_the_block_without_its_payload_and_a_whole_read_still_gives_it_all()
    {
        var silo = await OpenAsync();
        using var owner = MemoKeyPair.Generate();
        var block = BlockFactory.MakeImmutable(Data(1, 256 * 1024), owner.PublicKey, ReclaimKeys.SaltOf(ReclaimKeys.NewKey()));
        Assert.True(block.TryGetAddress(out var address));
        var encoded = block.ToByteArray();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, address, encoded));
        Assert.Single(CopyFiles());

        var headBytes = await silo.ReadBlockHeadAsync(address) ?? throw new InvalidOperationException("no head");
        Assert.True(headBytes.Length < 1024, $"the head is {headBytes.Length} bytes");
        var head = Block.Parser.ParseFrom(headBytes);
        Assert.Equal((block.Type, block.Address, block.Salt, block.Owner), (head.Type, head.Address, head.Salt, head.Owner));
        Assert.True(head.GetPayload().IsEmpty);
        Assert.Equal(encoded, await silo.ReadBlockAsync(address));
    }

    [Fact]
    public async Task A_head_read_of_a_copy_file_that_is_not_a_block_encoding_gives_its_whole_bytes()
    {
        var silo = await OpenAsync();
        // 0xFF bytes never end a varint: no field header parses, so the head read falls back to the whole file.
        var notABlock = Enumerable.Repeat((byte)0xFF, Threshold * 2).ToArray();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), notABlock));

        Assert.Equal(notABlock, await silo.ReadBlockHeadAsync(Address(1)));
        Assert.Null(await silo.ReadBlockHeadAsync(Address(2)));
    }

    [Fact]
    public async Task The_integrity_check_at_open_reports_a_missing_copy_file_as_corruption()
    {
        var silo = await OpenAsync();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)));
        await CloseAsync(silo);
        File.Delete(Assert.Single(CopyFiles()));

        var error = await Assert.ThrowsAsync<SiloCorruptException>(() => OpenAsync(Options with { CheckIntegrityOnOpen = true }));
        Assert.Contains($"the copy file of block {Address(1)} is missing", error.Message, StringComparison.Ordinal);
        // Without the check the silo opens; the read that meets the damage reports it.
        var opened = await OpenAsync();
        await Assert.ThrowsAsync<SiloCorruptException>(async () => await opened.ReadBlockAsync(Address(1)));
    }

    [Fact]
    public async Task Copies_stay_readable_when_the_threshold_changes_between_opens()
    {
        var silo = await OpenAsync();
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)));
        await CloseAsync(silo);

        var inRows = await OpenAsync(Options with { CopyFileThreshold = null });
        Assert.Equal(Data(1, 5000), await inRows.ReadBlockAsync(Address(1)));
        await inRows.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(2), Data(2, 5000)));
        await BarrierAsync(inRows);
        Assert.Single(CopyFiles());
        await inRows.CommitAsync(new SiloBatch().DeleteBlockCopy(Address(1)));
        await BarrierAsync(inRows);
        Assert.Empty(CopyFiles());
        Assert.Equal(Data(2, 5000), await inRows.ReadBlockAsync(Address(2)));
    }

    // ---- Spares: a replaced copy's file reused for the next copy file (CopyFiles' design note, "Spares") ----

    private SqliteSiloOptions WithSpares => Options with { CopyFileSpares = 4 };

    private string FileOf(BlockAddress address) =>
        CopyFiles().Single(f => Path.GetFileName(f).StartsWith(HexOf(address), StringComparison.Ordinal));

    [Fact]
    public async Task A_copy_written_through_a_spare_is_durable_and_reads_back_after_reopening()
    {
        var silo = await OpenAsync(WithSpares);
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 8000)));
        var replaced = FileOf(Address(1));
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(2, 5000)));
        await BarrierAsync(silo);
        // Kept as a spare, not unlinked.
        Assert.True(File.Exists(replaced), "the replaced copy's file was unlinked, not kept as a spare");
        Assert.Equal(0, silo.CopyFilesReused);

        // The next copy goes through the spare's inode: renamed to its own name, overwritten, cut to its length.
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(2), Data(3, 3000)));
        Assert.Equal(1, silo.CopyFilesReused);
        Assert.False(File.Exists(replaced));
        var reusedFile = FileOf(Address(2));
        Assert.Equal(Data(3, 3000), await File.ReadAllBytesAsync(reusedFile));
        Assert.Equal(2, CopyFiles().Length);
        var path = silo.FilePath;
        await CloseAsync(silo);
        Assert.Equal(3000L, Row(path, Address(2)).FileLength);

        var reopened = await OpenAsync(WithSpares with { CheckIntegrityOnOpen = true });
        Assert.Equal(Data(2, 5000), await reopened.ReadBlockAsync(Address(1)));
        Assert.Equal(Data(3, 3000), await reopened.ReadBlockAsync(Address(2)));
        // The sweep at open found nothing to remove: both files are named by rows.
        Assert.Equal(new[] { FileOf(Address(1)), reusedFile }.Order(StringComparer.Ordinal), CopyFiles().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Spares_are_unlinked_when_the_silo_closes_and_swept_as_orphans_after_a_crash()
    {
        var silo = await OpenAsync(WithSpares);
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)).PutBlockCopy(S0, Address(2), Data(2, 5000)));
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(3, 5000)).DeleteBlockCopy(Address(2)));
        await BarrierAsync(silo);
        Assert.Equal(3, CopyFiles().Length); // the current copy of 1 and two spares

        // A crash now: the spares are files no row names, which the sweep removes.
        using var crashed = new TempDirectory();
        CopyTree(_directory.Path, crashed.Path);
        var reopened = await OpenAsync(WithSpares with { DataDirectory = crashed.Path, CheckIntegrityOnOpen = true });
        Assert.Single(Directory.GetFiles(Path.Combine(crashed.Path, "memo.db-blocks"), "*", SearchOption.AllDirectories));
        Assert.Equal(Data(3, 5000), await reopened.ReadBlockAsync(Address(1)));
        Assert.Null(await reopened.ReadBlockAsync(Address(2)));
        await CloseAsync(reopened);

        // A close unlinks them.
        await CloseAsync(silo);
        Assert.Equal([FileOf(Address(1))], CopyFiles());
    }

    [Fact]
    public async Task A_crash_between_writing_through_a_spare_and_the_commit_loses_no_acknowledged_copy_and_leaves_no_half_copy()
    {
        var disk = new HeldAfterReuse();
        SystemCopyFileDisk.Override(_directory.Path, disk);
        try
        {
            var silo = await OpenAsync(WithSpares);
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)));
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(2, 6000)));
            await BarrierAsync(silo);

            // The new copy is written through the spare, then held before its folder's fsync: not committed, not acknowledged.
            var pending = silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(2), Data(3, 7000)));
            Assert.True(disk.Reused.Wait(TimeSpan.FromSeconds(30)), "the copy was never written through the spare");
            Assert.False(pending.IsCompleted);
            Assert.Null(await silo.ReadBlockAsync(Address(2)));

            // A crash now: the reused file has the new name and no row, so it goes at the sweep; the acknowledged copy
            // stays whole, and no half copy is readable.
            using var crashed = new TempDirectory();
            CopyTree(_directory.Path, crashed.Path);
            var reopened = await OpenAsync(WithSpares with { DataDirectory = crashed.Path, CheckIntegrityOnOpen = true });
            Assert.Equal(Data(2, 6000), await reopened.ReadBlockAsync(Address(1)));
            Assert.Null(await reopened.ReadBlockAsync(Address(2)));
            Assert.Single(Directory.GetFiles(Path.Combine(crashed.Path, "memo.db-blocks"), "*", SearchOption.AllDirectories));
            await CloseAsync(reopened);

            // Without the crash the held copy commits once let go.
            disk.Release.Set();
            await pending.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(Data(3, 7000), await silo.ReadBlockAsync(Address(2)));
            Assert.Equal(1, silo.CopyFilesReused);
        }
        finally
        {
            disk.Release.Set();
            SystemCopyFileDisk.RemoveOverride(_directory.Path);
        }
    }

    [Fact]
    public async Task A_failure_while_writing_through_a_spare_fails_the_batch_and_leaves_neither_file()
    {
        var disk = new FailingReuse();
        SystemCopyFileDisk.Override(_directory.Path, disk);
        try
        {
            var silo = await OpenAsync(WithSpares);
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(1, 5000)));
            var spare = FileOf(Address(1));
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(1), Data(2, 6000)));
            await BarrierAsync(silo);
            var current = CopyFiles().Single(f => f != spare);

            // Renamed, half overwritten, then the disk fails: the batch fails whole.
            await Assert.ThrowsAsync<IOException>(() => silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(2), Data(3, 7000))));
            await BarrierAsync(silo);
            Assert.Equal([current], CopyFiles());
            Assert.Null(await silo.ReadBlockAsync(Address(2)));
            Assert.Equal(Data(2, 6000), await silo.ReadBlockAsync(Address(1)));

            // The silo keeps serving: the next copy is a new file.
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(S0, Address(3), Data(4, 4000)));
            Assert.Equal(Data(4, 4000), await silo.ReadBlockAsync(Address(3)));
            Assert.Equal(0, silo.CopyFilesReused);
        }
        finally
        {
            SystemCopyFileDisk.RemoveOverride(_directory.Path);
        }
    }

    // The real disk, held after a copy file is written through a spare (before its folder's fsync and the commit).
    private sealed class HeldAfterReuse : ICopyFileDisk
    {
        public ManualResetEventSlim Reused { get; } = new();
        public ManualResetEventSlim Release { get; } = new();

        public void CreateFolder(string path) => SystemCopyFileDisk.Instance.CreateFolder(path);
        public void WriteNewFile(string path, ReadOnlySpan<byte> data, bool flush) => SystemCopyFileDisk.Instance.WriteNewFile(path, data, flush);
        public void FlushFolder(string path) => SystemCopyFileDisk.Instance.FlushFolder(path);
        public void DeleteFile(string path) => SystemCopyFileDisk.Instance.DeleteFile(path);

        public void ReuseFile(string sparePath, string path, ReadOnlySpan<byte> data, bool flush)
        {
            SystemCopyFileDisk.Instance.ReuseFile(sparePath, path, data, flush);
            Reused.Set();
            Release.Wait();
        }
    }

    // The real disk, whose reuse of a spare renames it, writes half the new bytes and fails.
    private sealed class FailingReuse : ICopyFileDisk
    {
        public void CreateFolder(string path) => SystemCopyFileDisk.Instance.CreateFolder(path);
        public void WriteNewFile(string path, ReadOnlySpan<byte> data, bool flush) => SystemCopyFileDisk.Instance.WriteNewFile(path, data, flush);
        public void FlushFolder(string path) => SystemCopyFileDisk.Instance.FlushFolder(path);
        public void DeleteFile(string path) => SystemCopyFileDisk.Instance.DeleteFile(path);

        public void ReuseFile(string sparePath, string path, ReadOnlySpan<byte> data, bool flush)
        {
            File.Move(sparePath, path);
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
            {
                file.Write(data[..(data.Length / 2)]);
            }
            throw new IOException("injected: the disk failed while a spare was overwritten");
        }
    }
}
