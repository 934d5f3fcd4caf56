using Memo.Protocol.Blocks;
using System.Text;
using Memo.Node.Storage;
using Microsoft.Data.Sqlite;

namespace Memo.Node.Tests.Storage;

/// <summary>What is specific to <see cref="SqliteSilo"/>: the file, its checks on open, options, group commit.</summary>
public sealed class SqliteSiloTests : IAsyncLifetime
{
    private static readonly ShardId S0 = new(0);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _directory = new();
    private readonly List<SqliteSilo> _silos = [];

    private string DatabasePath => Path.Combine(_directory.Path, "memo.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
        _directory.Dispose();
    }

    private async Task<SqliteSilo> OpenAsync(Func<SqliteSiloOptions, SqliteSiloOptions>? configure = null)
    {
        var options = new SqliteSiloOptions { DataDirectory = _directory.Path };
        var silo = await SqliteSilo.OpenAsync(configure is null ? options : configure(options));
        _silos.Add(silo);
        return silo;
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static Task PutAsync(ISilo silo, string key, string value) => silo.CommitAsync(new SiloBatch().PutEntry(S0, key, Bytes(value)));

    /// <summary>A plain connection to inspect or tamper with a database file behind the silo's back.</summary>
    private static SqliteConnection RawConnection(string path)
    {
        SqliteSilo.EnsureSqliteInitialized();
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    // ---- the file ----

    [Fact]
    public async Task Opening_creates_memo_db_in_WAL_mode_with_the_current_schema()
    {
        var silo = await OpenAsync();
        await PutAsync(silo, "k", "v");

        Assert.Equal(DatabasePath, silo.FilePath);
        Assert.True(File.Exists(DatabasePath));
        using var raw = RawConnection(DatabasePath);
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode"));
        Assert.Equal((long)SqliteSilo.SchemaVersion, Scalar(raw, "PRAGMA user_version"));
        Assert.Equal((long)SqliteSilo.ApplicationId, Scalar(raw, "PRAGMA application_id"));
        Assert.Equal("UTF-8", Scalar(raw, "PRAGMA encoding"));
        using var tables = raw.CreateCommand();
        tables.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
        var names = new List<string>();
        using (var reader = tables.ExecuteReader())
        {
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }
        Assert.Equal(["block_copies", "block_fragments", "blocks", "entries", "meta", "raft_log", "raft_state", "removed_blocks"], names);
    }

    [Fact]
    public async Task The_file_name_option_names_the_database_file()
    {
        var silo = await OpenAsync(o => o with { FileName = "node-7.sqlite" });
        Assert.Equal(Path.Combine(_directory.Path, "node-7.sqlite"), silo.FilePath);
        Assert.True(File.Exists(silo.FilePath));
        Assert.False(File.Exists(DatabasePath));
    }

    [Fact]
    public async Task A_silo_with_synchronous_normal_commits_and_keeps_its_data_across_reopening()
    {
        var silo = await OpenAsync(o => o with { Synchronous = SqliteSynchronousMode.Normal });
        await PutAsync(silo, "k", "v");
        await silo.DisposeAsync();
        var reopened = await OpenAsync(o => o with { Synchronous = SqliteSynchronousMode.Normal });
        Assert.Equal(Bytes("v"), await reopened.ReadEntryAsync("k"));
    }

    [Fact]
    public async Task Opening_a_file_that_is_not_a_database_fails_with_SiloCorruptException_naming_the_file()
    {
        var garbage = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("this is not a SQLite database. ", 300)));
        await File.WriteAllBytesAsync(DatabasePath, garbage);

        var error = await Assert.ThrowsAsync<SiloCorruptException>(() => SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path }));

        Assert.Equal(DatabasePath, error.FilePath);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a database", error.Message, StringComparison.Ordinal);
        Assert.Equal(garbage, await File.ReadAllBytesAsync(DatabasePath));
    }

    [Fact]
    public async Task Opening_a_damaged_database_with_the_integrity_check_fails_with_SiloCorruptException()
    {
        await WriteThenDamageAsync();

        var error = await Assert.ThrowsAsync<SiloCorruptException>(() =>
            SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path, CheckIntegrityOnOpen = true }));

        Assert.Equal(DatabasePath, error.FilePath);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_damaged_pages_fails_with_SiloCorruptException()
    {
        await WriteThenDamageAsync();
        var silo = await OpenAsync();

        var error = await Assert.ThrowsAsync<SiloCorruptException>(async () => await silo.ScanEntriesAsync("", null, 10_000));

        Assert.Equal(DatabasePath, error.FilePath);
        Assert.Contains("malformed", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Fills a silo with a few hundred KiB, closes it, then overwrites the pages after the schema page.</summary>
    private async Task WriteThenDamageAsync()
    {
        var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path });
        var batch = new SiloBatch();
        for (var i = 0; i < 2000; i++)
        {
            batch.PutEntry(S0, $"key{i:D5}", new byte[200]);
        }
        await silo.CommitAsync(batch);
        await silo.DisposeAsync();
        Assert.False(File.Exists(DatabasePath + "-wal"), "closing the silo should checkpoint and remove the WAL");

        await using var file = new FileStream(DatabasePath, FileMode.Open, FileAccess.ReadWrite);
        Assert.True(file.Length > 64 * 1024, $"the test database is only {file.Length} bytes");
        file.Position = 4096;
        var damage = Enumerable.Repeat((byte)0x5A, (int)file.Length - 8192).ToArray();
        await file.WriteAsync(damage);
    }

    [Fact]
    public async Task Opening_a_version_1_database_adds_the_copies_table_and_keeps_its_data()
    {
        var address = BlockAddress.FromBytes(Enumerable.Repeat((byte)7, BlockAddress.Length).ToArray());
        var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path });
        await silo.CommitAsync(new SiloBatch().PutBlock(new ShardId(0), address, [1, 2, 3]));
        await silo.DisposeAsync();
        using (var raw = RawConnection(DatabasePath))
        {
            Scalar(raw, "DROP TABLE block_copies");
            Scalar(raw, "DROP TABLE removed_blocks");
            Scalar(raw, "DROP TABLE block_fragments");
            Scalar(raw, "PRAGMA user_version = 1");
        }

        await using var reopened = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path });

        Assert.Equal([1, 2, 3], await reopened.ReadBlockAsync(address));
        await reopened.CommitAsync(new SiloBatch().PutBlockCopy(new ShardId(0), address, [4]));
        Assert.Equal([address], await reopened.ListBlockCopiesAsync(new ShardId(0), null, 10));
        using var check = RawConnection(DatabasePath);
        Assert.Equal((long)SqliteSilo.SchemaVersion, Scalar(check, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Opening_a_version_2_database_adds_the_fragments_table_and_the_copy_file_columns_and_keeps_its_copies()
    {
        var address = BlockAddress.FromBytes(Enumerable.Repeat((byte)9, BlockAddress.Length).ToArray());
        var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path });
        await silo.CommitAsync(new SiloBatch().PutBlockCopy(new ShardId(1), address, [5, 6]));
        await silo.DisposeAsync();
        using (var raw = RawConnection(DatabasePath))
        {
            Scalar(raw, "DROP TABLE block_fragments");
            Scalar(raw, "DROP INDEX block_copies_by_file");
            Scalar(raw, "ALTER TABLE block_copies DROP COLUMN file_id");
            Scalar(raw, "ALTER TABLE block_copies DROP COLUMN file_length");
            Scalar(raw, "PRAGMA user_version = 2");
        }

        await using var reopened = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path });

        Assert.Equal([5, 6], await reopened.ReadBlockAsync(address));
        await reopened.CommitAsync(new SiloBatch().PutBlockFragment(new ShardId(1), address, 4, [7]));
        Assert.Equal([new SiloFragment(address, 4)], await reopened.ListBlockFragmentsAsync(new ShardId(1), null, 10));
        // Version 4's copy file columns were added too: a copy above the threshold goes to its file.
        var large = new byte[100_000];
        await reopened.CommitAsync(new SiloBatch().PutBlockCopy(new ShardId(1), address, large));
        Assert.Equal(large, await reopened.ReadBlockAsync(address));
        using var check = RawConnection(DatabasePath);
        Assert.Equal((long)SqliteSilo.SchemaVersion, Scalar(check, "PRAGMA user_version"));
        Assert.Equal(1L, Scalar(check, "SELECT count(*) FROM block_copies WHERE file_id IS NOT NULL"));
    }

    [Fact]
    public async Task Opening_a_database_with_a_newer_schema_fails_with_SiloVersionException_and_leaves_it_untouched()
    {
        var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path });
        await silo.DisposeAsync();
        using (var raw = RawConnection(DatabasePath))
        {
            Scalar(raw, $"PRAGMA user_version = {SqliteSilo.SchemaVersion + 1}");
            Scalar(raw, "PRAGMA journal_mode = DELETE");
        }

        var error = await Assert.ThrowsAsync<SiloVersionException>(() => SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path }));

        Assert.Equal(DatabasePath, error.FilePath);
        Assert.Equal(SqliteSilo.SchemaVersion + 1, error.FoundVersion);
        Assert.Equal(SqliteSilo.SchemaVersion, error.SupportedVersion);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.Contains("newer", error.Message, StringComparison.Ordinal);
        using var check = RawConnection(DatabasePath);
        Assert.Equal("delete", Scalar(check, "PRAGMA journal_mode"));
        Assert.Equal((long)SqliteSilo.SchemaVersion + 1, Scalar(check, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Opening_a_foreign_SQLite_database_fails_with_SiloVersionException()
    {
        using (var raw = RawConnection(DatabasePath))
        {
            Scalar(raw, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
        }

        var error = await Assert.ThrowsAsync<SiloVersionException>(() => SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory.Path }));

        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a Memo silo", error.Message, StringComparison.Ordinal);
    }

    // ---- options ----

    [Fact]
    public void Default_options_are_valid()
    {
        Assert.Empty(new SqliteSiloOptions { DataDirectory = "data" }.Validate());
    }

    [Fact]
    public async Task Invalid_options_are_all_reported_at_once()
    {
        var options = new SqliteSiloOptions
        {
            DataDirectory = " ",
            FileName = "sub/memo.db",
            Synchronous = (SqliteSynchronousMode)7,
            MaxBatchOperations = 0,
            MaxBatchBytes = 0,
            ReadConnections = 0,
            QueueCapacity = 0,
            PageCacheKiB = 0,
            BusyTimeout = TimeSpan.Zero,
        };
        string[] names = ["DataDirectory", "FileName", "Synchronous", "MaxBatchOperations", "MaxBatchBytes", "ReadConnections", "QueueCapacity", "PageCacheKiB", "BusyTimeout"];

        var errors = options.Validate();

        Assert.Equal(names.Length, errors.Count);
        foreach (var name in names)
        {
            Assert.Single(errors, e => e.StartsWith(name, StringComparison.Ordinal));
        }
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SqliteSilo.OpenAsync(options));
        Assert.All(names, name => Assert.Contains(name, error.Message, StringComparison.Ordinal));
    }

    // ---- group commit ----

    [Fact]
    public async Task Batches_queued_while_the_writer_is_busy_share_one_transaction()
    {
        var silo = await OpenAsync();
        var gate = new WriterGate();
        silo.FaultInjector = gate.Check;
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        var queued = Enumerable.Range(0, 100).Select(i => PutAsync(silo, $"k{i:D3}", "v")).ToArray();
        gate.Release();
        await Task.WhenAll(queued.Append(held));

        Assert.Equal(2, silo.CommittedTransactions);
        Assert.Equal(101, (await silo.ScanEntriesAsync("", null, 1000)).Count);
    }

    [Fact]
    public async Task Deferred_batches_that_end_a_flushed_group_commit_after_it_in_a_transaction_of_their_own()
    {
        var silo = await OpenAsync();
        var gate = new WriterGate();
        Task? log = null;
        // Checked on the writer thread as it applies the application's batch: the log batch's task must be complete by
        // then (its continuations run later on the thread pool, in any order, so their order proves nothing).
        var logAnsweredFirst = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        silo.FaultInjector = operation =>
        {
            if (operation is SiloOperation.PutEntry { Key: "applied" })
            {
                logAnsweredFirst.TrySetResult(Volatile.Read(ref log)!.IsCompletedSuccessfully);
            }
            return gate.Check(operation);
        };
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        // A log batch and the application queued right behind it, as a replica does.
        Volatile.Write(ref log, silo.CommitAsync(new SiloBatch().PutEntry(S0, "log", Bytes("1"))));
        var application = silo.CommitAsync(new SiloBatch().PutEntry(S0, "applied", Bytes("1")).DeferFlush());
        gate.Release();
        await Task.WhenAll(held, log!, application);

        // The held batch; the log batch's flushed transaction; the application's own.
        Assert.Equal(3, silo.CommittedTransactions);
        Assert.True(await logAnsweredFirst.Task.WaitAsync(Patience));
        Assert.NotNull(await silo.ReadEntryAsync("applied"));
    }

    [Fact]
    public async Task A_deferred_tail_held_back_goes_first_into_the_next_group_with_what_was_queued_meanwhile()
    {
        var silo = await OpenAsync();
        var gate = new WriterGate();
        silo.FaultInjector = gate.Check;
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        var first = silo.CommitAsync(new SiloBatch().PutEntry(S0, "f1", Bytes("1")));
        var deferred = silo.CommitAsync(new SiloBatch().PutEntry(S0, "d1", Bytes("1")).DeferFlush());
        var second = silo.CommitAsync(new SiloBatch().PutEntry(S0, "f2", Bytes("1")));
        var tail = Enumerable.Range(0, 3).Select(i => silo.CommitAsync(new SiloBatch().PutEntry(S0, $"t{i}", Bytes("1")).DeferFlush())).ToArray();
        gate.Release();
        await Task.WhenAll(tail.Append(held).Append(first).Append(deferred).Append(second));

        // held; f1, d1 and f2 in one flushed transaction (a deferred batch between two flushed ones is not held back);
        // the three deferred batches behind f2 in one more.
        Assert.Equal(3, silo.CommittedTransactions);
        Assert.Equal(7, (await silo.ScanEntriesAsync("", null, 100)).Count);
    }

    [Fact]
    public async Task A_group_stops_at_MaxBatchOperations()
    {
        var silo = await OpenAsync(o => o with { MaxBatchOperations = 10 });
        var gate = new WriterGate();
        silo.FaultInjector = gate.Check;
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        var queued = Enumerable.Range(0, 35).Select(i => PutAsync(silo, $"k{i:D3}", "v")).ToArray();
        gate.Release();
        await Task.WhenAll(queued.Append(held));

        // The held batch, then groups of 10, 10, 10 and 5.
        Assert.Equal(5, silo.CommittedTransactions);
    }

    [Fact]
    public async Task A_group_stops_at_MaxBatchBytes()
    {
        var silo = await OpenAsync(o => o with { MaxBatchBytes = 1024 });
        var gate = new WriterGate();
        silo.FaultInjector = gate.Check;
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        // About 311 bytes each: three fit in 1024.
        var queued = Enumerable.Range(0, 9).Select(i => PutAsync(silo, $"k{i:D2}", new string('x', 300))).ToArray();
        gate.Release();
        await Task.WhenAll(queued.Append(held));

        Assert.Equal(4, silo.CommittedTransactions);
    }

    [Fact]
    public async Task A_batch_larger_than_the_group_limits_commits_alone()
    {
        var silo = await OpenAsync(o => o with { MaxBatchOperations = 10 });
        var gate = new WriterGate();
        silo.FaultInjector = gate.Check;
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        var before = PutAsync(silo, "before", "v");
        var big = new SiloBatch();
        for (var i = 0; i < 25; i++)
        {
            big.PutEntry(S0, $"big{i:D2}", Bytes("v"));
        }
        var large = silo.CommitAsync(big);
        var after = PutAsync(silo, "later", "v");
        gate.Release();
        await Task.WhenAll(held, before, large, after);

        Assert.Equal(4, silo.CommittedTransactions);
        Assert.Equal(28, (await silo.ScanEntriesAsync("", null, 100)).Count);
    }

    [Fact]
    public async Task A_failing_batch_inside_a_group_fails_alone_and_the_group_commits_once()
    {
        var silo = await OpenAsync();
        var gate = new WriterGate();
        silo.FaultInjector = op => gate.Check(op) ?? (op is SiloOperation.PutEntry { Key: "boom" } ? new IOException("injected fault") : null);
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        var first = PutAsync(silo, "first", "1");
        var failing = silo.CommitAsync(new SiloBatch().PutEntry(S0, "partial", Bytes("p")).PutEntry(S0, "boom", Bytes("b")));
        var last = PutAsync(silo, "last", "3");
        gate.Release();

        await Task.WhenAll(held, first, last);
        await Assert.ThrowsAsync<IOException>(() => failing);
        Assert.Equal(2, silo.CommittedTransactions);
        Assert.Equal(["first", WriterGate.Key, "last"], (await silo.ScanEntriesAsync("", null, 10)).Select(e => e.Key));
    }

    [Fact]
    public async Task When_the_transaction_is_aborted_the_groups_other_batches_are_applied_again()
    {
        var silo = await OpenAsync();
        var gate = new WriterGate();
        silo.FaultInjector = op =>
        {
            if (op is SiloOperation.PutEntry { Key: "abort" })
            {
                // What SQLite does on an I/O error or a full disk: the whole transaction is gone.
                silo.AbortTransactionForTesting();
                return new IOException("disk I/O error (injected)");
            }
            return gate.Check(op);
        };
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        var first = PutAsync(silo, "first", "1");
        var failing = silo.CommitAsync(new SiloBatch().PutEntry(S0, "partial", Bytes("p")).PutEntry(S0, "abort", Bytes("a")));
        var last = PutAsync(silo, "last", "3");
        gate.Release();

        await Task.WhenAll(held, first, last);
        await Assert.ThrowsAsync<IOException>(() => failing);
        Assert.Equal(["first", WriterGate.Key, "last"], (await silo.ScanEntriesAsync("", null, 10)).Select(e => e.Key));
        Assert.Equal(2, silo.CommittedTransactions);
    }

    [Fact]
    public async Task A_batch_violating_a_SQLite_constraint_fails_alone_with_the_SQLite_error()
    {
        var silo = await OpenAsync();
        const int sqliteLimitLength = 0;
        silo.SetWriterLimitForTesting(sqliteLimitLength, 4096);
        var gate = new WriterGate();
        silo.FaultInjector = gate.Check;
        var held = PutAsync(silo, WriterGate.Key, "held");
        await gate.Entered;

        var first = PutAsync(silo, "first", "1");
        var tooBig = silo.CommitAsync(new SiloBatch().PutEntry(S0, "partial", Bytes("p")).PutEntry(S0, "huge", new byte[10_000]));
        var last = PutAsync(silo, "last", "3");
        gate.Release();

        await Task.WhenAll(held, first, last);
        var error = await Assert.ThrowsAsync<SqliteException>(() => tooBig);
        // Microsoft.Data.Sqlite 10 reports the failed bind of the oversized value itself (6.0 ignored it and left the
        // column NULL, which only the NOT NULL constraint caught).
        Assert.Equal(18, error.SqliteErrorCode); // SQLITE_TOOBIG
        Assert.Equal(["first", WriterGate.Key, "last"], (await silo.ScanEntriesAsync("", null, 10)).Select(e => e.Key));
        Assert.Equal(2, silo.CommittedTransactions);
    }

    [Fact]
    public async Task Reads_proceed_while_the_writer_is_inside_a_transaction_and_see_only_committed_data()
    {
        var silo = await OpenAsync();
        await PutAsync(silo, "committed", "c");
        var gate = new WriterGate();
        silo.FaultInjector = gate.Check;
        var held = silo.CommitAsync(new SiloBatch().PutEntry(S0, "uncommitted", Bytes("u")).PutEntry(S0, WriterGate.Key, Bytes("held")));
        await gate.Entered;

        var reads = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => await silo.ScanEntriesAsync("", null, 10))));
        Assert.All(reads, scan => Assert.Equal(["committed"], scan.Select(e => e.Key)));
        Assert.Null(await silo.ReadEntryAsync("uncommitted"));

        gate.Release();
        await held;
        Assert.Equal(Bytes("u"), await silo.ReadEntryAsync("uncommitted"));
    }

    /// <summary>
    /// Holds the writer thread inside a transaction when it applies the entry named <see cref="Key"/>, so that
    /// the test can queue batches behind it deterministically.
    /// </summary>
    private sealed class WriterGate
    {
        public const string Key = "gate";

        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _release = new();

        public Task Entered => _entered.Task.WaitAsync(Patience);

        public Exception? Check(SiloOperation operation)
        {
            if (operation is SiloOperation.PutEntry { Key: Key })
            {
                _entered.TrySetResult();
                if (!_release.Wait(Patience))
                {
                    return new TimeoutException("The test never released the writer gate.");
                }
            }
            return null;
        }

        public void Release() => _release.Set();
    }
}
