using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Storage;

/// <summary>Opening: connections, pragmas, the versioned schema and the checks that refuse a wrong file.</summary>
public sealed partial class SqliteSilo
{
    // Version 1. A later version adds a migration step from the previous one; a version is never edited.
    private const string SchemaV1 = """
        CREATE TABLE blocks (
            address BLOB NOT NULL PRIMARY KEY,
            shard INTEGER NOT NULL,
            data BLOB NOT NULL);
        CREATE INDEX blocks_by_shard ON blocks (shard);
        CREATE TABLE entries (
            key TEXT NOT NULL PRIMARY KEY COLLATE BINARY,
            shard INTEGER NOT NULL,
            value BLOB NOT NULL);
        CREATE INDEX entries_by_shard ON entries (shard, key);
        CREATE TABLE raft_log (
            shard INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            term INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (shard, idx)) WITHOUT ROWID;
        CREATE TABLE raft_state (
            shard INTEGER NOT NULL PRIMARY KEY,
            data BLOB NOT NULL);
        CREATE TABLE meta (
            name TEXT NOT NULL PRIMARY KEY,
            value BLOB NOT NULL);
        """;

    // Version 2: copies of immutable blocks written straight to their replica set (Memo.Node/Blocks/Copies), outside
    // every shard's Raft state: a snapshot neither carries nor clears them.
    private const string SchemaV2 = """
        CREATE TABLE block_copies (
            address BLOB NOT NULL PRIMARY KEY,
            shard INTEGER NOT NULL,
            data BLOB NOT NULL);
        CREATE INDEX block_copies_by_shard ON block_copies (shard, address);
        CREATE TABLE removed_blocks (
            address BLOB NOT NULL PRIMARY KEY,
            removed_at INTEGER NOT NULL);
        CREATE INDEX removed_blocks_by_time ON removed_blocks (removed_at);
        """;

    // Version 3: this node's fragments of erasure-coded immutable blocks (Memo.Node/Erasure), at most one per block,
    // with the fragment's index beside the record so a listing answers without reading the data.
    private const string SchemaV3 = """
        CREATE TABLE block_fragments (
            address BLOB NOT NULL PRIMARY KEY,
            shard INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            data BLOB NOT NULL);
        CREATE INDEX block_fragments_by_shard ON block_fragments (shard, address);
        """;

    // Version 4: a copy may live in a file of its own (CopyFiles): file_id names the file, file_length is its size, and
    // data is then empty. Both null for a copy stored in its row. The partial index finds the highest file id and the
    // rows with files at open without reading every copy (the columns sit after the data, in its overflow pages).
    private const string SchemaV4 = """
        ALTER TABLE block_copies ADD COLUMN file_id INTEGER;
        ALTER TABLE block_copies ADD COLUMN file_length INTEGER;
        CREATE INDEX block_copies_by_file ON block_copies (file_id) WHERE file_id IS NOT NULL;
        """;

    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static SqliteSilo Open(SqliteSiloOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(options.DataDirectory);
        }
        else
        {
            Directory.CreateDirectory(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var path = Path.GetFullPath(Path.Combine(options.DataDirectory, options.FileName));
        RestrictFileModes(path);
        SqliteConnection? connection = null;
        SqliteWriteCommands? writer = null;
        var readers = new List<SqliteReadCommands>();
        try
        {
            connection = OpenConnection(path, SqliteOpenMode.ReadWriteCreate, options);
            var created = PrepareDatabase(connection, path, options);
            if (options.CheckIntegrityOnOpen)
            {
                CheckIntegrity(connection, path);
            }
            var copyFiles = OpenCopyFiles(connection, path, options, logger);
            cancellationToken.ThrowIfCancellationRequested();
            writer = PrepareCommands(path, connection, static c => new SqliteWriteCommands(c));
            connection = null;
            for (var i = 0; i < options.ReadConnections; i++)
            {
                var readConnection = OpenConnection(path, SqliteOpenMode.ReadOnly, options);
                try
                {
                    readers.Add(PrepareCommands(path, readConnection, static c => new SqliteReadCommands(c)));
                }
                catch
                {
                    readConnection.Dispose();
                    throw;
                }
            }
            var silo = new SqliteSilo(options, path, logger, writer, readers, copyFiles);
            Log.Opened(logger, path, SchemaVersion, created, options.Synchronous, options.ReadConnections, SQLitePCL.raw.sqlite3_libversion().utf8_to_string());
            return silo;
        }
        catch (Exception ex)
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }
            writer?.Dispose();
            connection?.Dispose();
            if (ex is SqliteException sqlite && IsCorruption(sqlite))
            {
                throw new SiloCorruptException(path, sqlite.Message, sqlite);
            }
            throw;
        }
    }

    // Every stored value is in these files, so on Unix they are 0600. SQLite creates a database 0644 (less the umask),
    // and its -wal and -shm files with the database file's mode; so a new database is created empty here at 0600
    // (SQLite takes an empty file as a new database) and the files of an older data folder are narrowed to 0600.
    private static void RestrictFileModes(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        if (!File.Exists(path))
        {
            using var created = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerReadWrite,
            });
        }
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            if (File.Exists(file) && (File.GetUnixFileMode(file) & ~OwnerReadWrite) != 0)
            {
                File.SetUnixFileMode(file, OwnerReadWrite);
            }
        }
    }

    private static SqliteConnection OpenConnection(string path, SqliteOpenMode mode, SqliteSiloOptions options)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Cache = SqliteCacheMode.Private,
            // The silo keeps its connections for its lifetime; pooling would keep the file open after dispose.
            Pooling = false,
            ForeignKeys = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            Execute(connection, $"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}");
            // Negative: a size in KiB rather than in pages.
            Execute(connection, $"PRAGMA cache_size = -{options.PageCacheKiB}");
            Execute(connection, "PRAGMA temp_store = MEMORY");
            Execute(connection, $"PRAGMA mmap_size = {options.MmapBytes}");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks that the file is ours and not newer, then sets the database-wide pragmas and creates the schema on
    /// a new file. Returns true when the schema was created now.
    /// </summary>
    private static bool PrepareDatabase(SqliteConnection connection, string path, SqliteSiloOptions options)
    {
        // The first reads of the header: a file that is not a database fails here, before anything is written.
        var applicationId = Scalar<long>(connection, "PRAGMA application_id");
        var version = Scalar<long>(connection, "PRAGMA user_version");
        if (version > SchemaVersion)
        {
            throw new SiloVersionException(path, version, SchemaVersion, "it was written by a newer version of Memo");
        }
        var ours = applicationId == ApplicationId;
        var isNew = false;
        if (version < 0 || (version > 0 && !ours) || (version == 0 && applicationId != 0 && !ours))
        {
            throw new SiloVersionException(path, version, SchemaVersion,
                $"it is not a Memo silo (application_id 0x{applicationId.ToString("x8", CultureInfo.InvariantCulture)})");
        }
        if (version == 0)
        {
            if (Scalar<long>(connection, "SELECT count(*) FROM sqlite_master") > 0)
            {
                throw new SiloVersionException(path, version, SchemaVersion, "it is a SQLite database with tables but not a Memo silo");
            }
            isNew = true;
            // Only effective before the database is first written; UTF-8 makes BINARY collation code point order.
            Execute(connection, "PRAGMA encoding = 'UTF-8'");
        }

        var journalMode = Scalar<string>(connection, "PRAGMA journal_mode = WAL");
        if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new IOException($"Silo file '{path}' could not switch to WAL mode (journal mode is '{journalMode}').");
        }
        Execute(connection, $"PRAGMA synchronous = {(int)options.Synchronous}");
        if ((PlantedFaults & SiloFaults.AcknowledgeBeforeFsync) != 0)
        {
            // The planted bug: commits return (and are acknowledged) without any fsync.
            Execute(connection, "PRAGMA synchronous = OFF");
        }
        Execute(connection, "PRAGMA foreign_keys = OFF");
        // Per connection: this one becomes the writer's, the only one that commits and so checkpoints.
        Execute(connection, $"PRAGMA wal_autocheckpoint = {options.WalCheckpointPages}");

        if (!isNew)
        {
            if (version < SchemaVersion)
            {
                Migrate(connection);
            }
            return false;
        }
        using var transaction = connection.BeginTransaction();
        // Another process may have created the schema while this one waited for the write lock.
        if (Scalar<long>(connection, "PRAGMA user_version", transaction) != 0)
        {
            return false;
        }
        Execute(connection, SchemaV1, transaction);
        Execute(connection, SchemaV2, transaction);
        Execute(connection, SchemaV3, transaction);
        Execute(connection, SchemaV4, transaction);
        Execute(connection, $"PRAGMA application_id = {ApplicationId}", transaction);
        Execute(connection, $"PRAGMA user_version = {SchemaVersion}", transaction);
        transaction.Commit();
        return true;
    }

    // Steps an older file up one version at a time, each step in its own transaction.
    private static void Migrate(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        // Another process may have migrated while this one waited for the write lock.
        var current = Scalar<long>(connection, "PRAGMA user_version", transaction);
        if (current == 1)
        {
            Execute(connection, SchemaV2, transaction);
        }
        if (current is 1 or 2)
        {
            Execute(connection, SchemaV3, transaction);
        }
        if (current is 1 or 2 or 3)
        {
            Execute(connection, SchemaV4, transaction);
        }
        Execute(connection, $"PRAGMA user_version = {SchemaVersion}", transaction);
        transaction.Commit();
    }

    private static void CheckIntegrity(SqliteConnection connection, string path)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA quick_check(10)";
        var problems = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                problems.Add(reader.GetString(0));
            }
        }
        if (problems is not ["ok"])
        {
            throw new SiloCorruptException(path, "the integrity check failed: " + string.Join("; ", problems));
        }
    }

    private static T PrepareCommands<T>(string path, SqliteConnection connection, Func<SqliteConnection, T> prepare)
    {
        try
        {
            return prepare(connection);
        }
        catch (SqliteException ex) when (!IsCorruption(ex))
        {
            // The version says this schema, but its tables do not match: damaged, or edited by hand.
            throw new SiloCorruptException(path, $"its tables do not match schema version {SchemaVersion}: {ex.Message}", ex);
        }
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    private static T Scalar<T>(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), CultureInfo.InvariantCulture);
    }
}
