using Memo.Protocol.Blocks;
using Microsoft.Data.Sqlite;

namespace Memo.Node.Storage;

/// <summary>
/// The writer connection of a <see cref="SqliteSilo"/> with every write statement prepared once. Used by the
/// writer thread only. Transactions are driven with plain SQL (BEGIN / SAVEPOINT / COMMIT) so that the prepared
/// commands never need a transaction object attached.
/// </summary>
internal sealed class SqliteWriteCommands : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _commands = [];
    private readonly byte[] _address = new byte[BlockAddress.Length];
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _rollback;
    private readonly SqliteCommand _savepoint;
    private readonly SqliteCommand _releaseSavepoint;
    private readonly SqliteCommand _rollbackToSavepoint;
    // Each put has two statements: the usual one leaves the shard column alone (it rewrote the by-shard index entry of
    // every overwritten record, one more dirty page per put; measured at 64 callers on one node: 26.5 → 22.4 KiB
    // written to disk per 256-byte put), and a second that moves a record to another shard runs only when the first
    // changed nothing (a record whose shard differs, which this node's layout never does).
    private readonly SqliteCommand _putBlock;
    private readonly SqliteCommand _moveBlock;
    private readonly SqliteCommand _deleteBlock;
    private readonly SqliteCommand _putBlockCopy;
    private readonly SqliteCommand _moveBlockCopy;
    private readonly SqliteCommand _copyFileOf;
    private readonly SqliteCommand _deleteBlockCopy;
    private readonly SqliteCommand _putBlockFragment;
    private readonly SqliteCommand _deleteBlockFragment;
    private readonly SqliteCommand _markRemoved;
    private readonly SqliteCommand _forgetRemoved;
    private readonly SqliteCommand _putEntry;
    private readonly SqliteCommand _moveEntry;
    private readonly SqliteCommand _deleteEntry;
    private readonly SqliteCommand _putMeta;
    private readonly SqliteCommand _putRaftState;
    private readonly SqliteCommand _appendLog;
    private readonly SqliteCommand _truncateLogAfter;
    private readonly SqliteCommand _compactLogThrough;
    private readonly SqliteCommand _clearBlocks;
    private readonly SqliteCommand _clearEntries;
    private readonly SqliteCommand _clearLog;
    private readonly SqliteCommand _clearRaftState;

    /// <summary>Prepares every statement; throws when the schema does not match.</summary>
    public SqliteWriteCommands(SqliteConnection connection)
    {
        _connection = connection;
        // IMMEDIATE takes the write lock at BEGIN, so a lock conflict (another process) shows up before any work.
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _rollback = Prepare("ROLLBACK");
        _savepoint = Prepare("SAVEPOINT batch");
        _releaseSavepoint = Prepare("RELEASE batch");
        _rollbackToSavepoint = Prepare("ROLLBACK TO batch");
        _putBlock = Prepare(
            "INSERT INTO blocks (address, shard, data) VALUES ($address, $shard, $data) " +
            "ON CONFLICT (address) DO UPDATE SET data = excluded.data WHERE shard = excluded.shard",
            ("$address", SqliteType.Blob), ("$shard", SqliteType.Integer), ("$data", SqliteType.Blob));
        _moveBlock = Prepare(
            "UPDATE blocks SET shard = $shard, data = $data WHERE address = $address",
            ("$address", SqliteType.Blob), ("$shard", SqliteType.Integer), ("$data", SqliteType.Blob));
        _deleteBlock = Prepare("DELETE FROM blocks WHERE address = $address", ("$address", SqliteType.Blob));
        _putBlockCopy = Prepare(
            "INSERT INTO block_copies (address, shard, data, file_id, file_length) VALUES ($address, $shard, $data, $file, $length) " +
            "ON CONFLICT (address) DO UPDATE SET data = excluded.data, file_id = excluded.file_id, file_length = excluded.file_length " +
            "WHERE shard = excluded.shard",
            ("$address", SqliteType.Blob), ("$shard", SqliteType.Integer), ("$data", SqliteType.Blob), ("$file", SqliteType.Integer), ("$length", SqliteType.Integer));
        _moveBlockCopy = Prepare(
            "UPDATE block_copies SET shard = $shard, data = $data, file_id = $file, file_length = $length WHERE address = $address",
            ("$address", SqliteType.Blob), ("$shard", SqliteType.Integer), ("$data", SqliteType.Blob), ("$file", SqliteType.Integer), ("$length", SqliteType.Integer));
        // A copy's file is unlinked only once the transaction that replaced or removed its row has committed, so the
        // writer learns which file a row named before it changes the row.
        _copyFileOf = Prepare("SELECT file_id FROM block_copies WHERE address = $address", ("$address", SqliteType.Blob));
        _deleteBlockCopy = Prepare("DELETE FROM block_copies WHERE address = $address RETURNING file_id", ("$address", SqliteType.Blob));
        _putBlockFragment = Prepare(
            "INSERT INTO block_fragments (address, shard, idx, data) VALUES ($address, $shard, $idx, $data) " +
            "ON CONFLICT (address) DO UPDATE SET shard = excluded.shard, idx = excluded.idx, data = excluded.data",
            ("$address", SqliteType.Blob), ("$shard", SqliteType.Integer), ("$idx", SqliteType.Integer), ("$data", SqliteType.Blob));
        _deleteBlockFragment = Prepare("DELETE FROM block_fragments WHERE address = $address", ("$address", SqliteType.Blob));
        _markRemoved = Prepare(
            "INSERT INTO removed_blocks (address, removed_at) VALUES ($address, unixepoch()) " +
            "ON CONFLICT (address) DO UPDATE SET removed_at = excluded.removed_at",
            ("$address", SqliteType.Blob));
        _forgetRemoved = Prepare("DELETE FROM removed_blocks WHERE removed_at < $before", ("$before", SqliteType.Integer));
        _putEntry = Prepare(
            "INSERT INTO entries (key, shard, value) VALUES ($key, $shard, $value) " +
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE shard = excluded.shard",
            ("$key", SqliteType.Text), ("$shard", SqliteType.Integer), ("$value", SqliteType.Blob));
        _moveEntry = Prepare(
            "UPDATE entries SET shard = $shard, value = $value WHERE key = $key",
            ("$key", SqliteType.Text), ("$shard", SqliteType.Integer), ("$value", SqliteType.Blob));
        _deleteEntry = Prepare("DELETE FROM entries WHERE key = $key", ("$key", SqliteType.Text));
        _putMeta = Prepare(
            "INSERT INTO meta (name, value) VALUES ($name, $value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            ("$name", SqliteType.Text), ("$value", SqliteType.Blob));
        _putRaftState = Prepare(
            "INSERT INTO raft_state (shard, data) VALUES ($shard, $data) ON CONFLICT (shard) DO UPDATE SET data = excluded.data",
            ("$shard", SqliteType.Integer), ("$data", SqliteType.Blob));
        _appendLog = Prepare(
            "INSERT INTO raft_log (shard, idx, term, data) VALUES ($shard, $idx, $term, $data) " +
            "ON CONFLICT (shard, idx) DO UPDATE SET term = excluded.term, data = excluded.data",
            ("$shard", SqliteType.Integer), ("$idx", SqliteType.Integer), ("$term", SqliteType.Integer), ("$data", SqliteType.Blob));
        _truncateLogAfter = Prepare("DELETE FROM raft_log WHERE shard = $shard AND idx > $idx", ("$shard", SqliteType.Integer), ("$idx", SqliteType.Integer));
        _compactLogThrough = Prepare("DELETE FROM raft_log WHERE shard = $shard AND idx <= $idx", ("$shard", SqliteType.Integer), ("$idx", SqliteType.Integer));
        _clearBlocks = Prepare("DELETE FROM blocks WHERE shard = $shard", ("$shard", SqliteType.Integer));
        _clearEntries = Prepare("DELETE FROM entries WHERE shard = $shard", ("$shard", SqliteType.Integer));
        _clearLog = Prepare("DELETE FROM raft_log WHERE shard = $shard", ("$shard", SqliteType.Integer));
        _clearRaftState = Prepare("DELETE FROM raft_state WHERE shard = $shard", ("$shard", SqliteType.Integer));
    }

    /// <summary>
    /// True while a transaction is open. SQLite rolls the whole transaction back by itself after some errors
    /// (I/O, disk full, out of memory), which this detects.
    /// </summary>
    public bool InTransaction => SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0;

    public void SetLimit(int limitId, int value) => SQLitePCL.raw.sqlite3_limit(_connection.Handle, limitId, value);

    /// <summary>Sets whether the next commits flush the log (FULL) or leave it to a later flush (NORMAL); outside a transaction.</summary>
    /// <remarks>
    /// Not a prepared statement: SQLite applies <c>PRAGMA synchronous</c> when it compiles the statement, not when it
    /// runs it. Preparing both settings once left the connection at NORMAL from the start (the last one compiled) and
    /// running them later changed nothing, so no commit was fsynced; the power-loss tests found it (acknowledged
    /// writes lost at a power cut).
    /// </remarks>
    public void SetFlushOnCommit(bool flush)
    {
        var result = SQLitePCL.raw.sqlite3_exec(_connection.Handle, flush ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        if (result != SQLitePCL.raw.SQLITE_OK)
        {
            throw new SqliteException($"PRAGMA synchronous failed: {SQLitePCL.raw.sqlite3_errmsg(_connection.Handle).utf8_to_string()}", result);
        }
    }

    public void Begin() => _begin.ExecuteNonQuery();

    public void Commit() => _commit.ExecuteNonQuery();

    /// <summary>Rolls back the open transaction, if any; never throws (used on error paths).</summary>
    public void TryRollback()
    {
        try
        {
            if (InTransaction)
            {
                _rollback.ExecuteNonQuery();
            }
        }
        catch (SqliteException)
        {
            // Nothing more can be done here; the next BEGIN reports a connection that stays broken.
        }
    }

    public void Savepoint() => _savepoint.ExecuteNonQuery();

    public void ReleaseSavepoint() => _releaseSavepoint.ExecuteNonQuery();

    /// <summary>Undoes the current batch and closes its savepoint; false when that failed or the transaction is gone.</summary>
    public bool TryRollbackToSavepoint()
    {
        try
        {
            if (!InTransaction)
            {
                return false;
            }
            _rollbackToSavepoint.ExecuteNonQuery();
            _releaseSavepoint.ExecuteNonQuery();
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>
    /// Applies one (validated) operation. <paramref name="fileId"/> is the copy file already written for a
    /// <see cref="SiloOperation.PutBlockCopy"/> stored outside its row (0: in the row); the copy files of rows this
    /// replaces or removes are added to <paramref name="obsoleteFiles"/>, to unlink once the transaction commits.
    /// </summary>
    public void Apply(SiloOperation operation, long fileId, List<(BlockAddress Address, long FileId)> obsoleteFiles)
    {
        switch (operation)
        {
            case SiloOperation.PutBlock op:
                op.Address.WriteTo(_address);
                Put(_putBlock, _moveBlock, _address, op.Shard.Value, op.Data);
                break;
            case SiloOperation.DeleteBlock op:
                op.Address.WriteTo(_address);
                Execute(_deleteBlock, _address);
                // A block removed through its shard (reclaimed, deleted) goes whichever way it was stored, and is
                // remembered as removed so that no replica's stale copy is taken back (ISilo.IsBlockRemovedAsync).
                DeleteCopy(op.Address, obsoleteFiles);
                Execute(_deleteBlockFragment, _address);
                Execute(_markRemoved, _address);
                break;
            case SiloOperation.ForgetRemovedBlocks op:
                Execute(_forgetRemoved, op.RemovedBefore.ToUnixTimeSeconds());
                break;
            case SiloOperation.PutBlockCopy op:
                PutCopy(op, fileId, obsoleteFiles);
                break;
            case SiloOperation.DeleteBlockCopy op:
                op.Address.WriteTo(_address);
                DeleteCopy(op.Address, obsoleteFiles);
                break;
            case SiloOperation.PutBlockFragment op:
                op.Address.WriteTo(_address);
                Execute(_putBlockFragment, _address, op.Shard.Value, op.Index, op.Data);
                break;
            case SiloOperation.DeleteBlockFragment op:
                op.Address.WriteTo(_address);
                Execute(_deleteBlockFragment, _address);
                break;
            case SiloOperation.PutEntry op:
                Put(_putEntry, _moveEntry, op.Key, op.Shard.Value, op.Value);
                break;
            case SiloOperation.DeleteEntry op:
                Execute(_deleteEntry, op.Key);
                break;
            case SiloOperation.PutMeta op:
                Execute(_putMeta, op.Name, op.Value);
                break;
            case SiloOperation.PutRaftState op:
                Execute(_putRaftState, op.Shard.Value, op.State);
                break;
            case SiloOperation.AppendLog op:
                Execute(_appendLog, op.Shard.Value, (long)op.Index.Value, (long)op.Term.Value, op.Data);
                break;
            case SiloOperation.TruncateLogAfter op:
                Execute(_truncateLogAfter, op.Shard.Value, SiloArguments.Clamp(op.LastKept.Value));
                break;
            case SiloOperation.CompactLogThrough op:
                Execute(_compactLogThrough, op.Shard.Value, SiloArguments.Clamp(op.Through.Value));
                break;
            case SiloOperation.ClearShard op:
                Execute(_clearBlocks, op.Shard.Value);
                Execute(_clearEntries, op.Shard.Value);
                Execute(_clearLog, op.Shard.Value);
                Execute(_clearRaftState, op.Shard.Value);
                break;
            default:
                throw new InvalidOperationException($"Unknown silo operation {operation.GetType().Name} passed validation.");
        }
    }

    public void Dispose()
    {
        foreach (var command in _commands)
        {
            command.Dispose();
        }
        _connection.Dispose();
    }

    // A copy in its row (fileId 0: the data, no file) or in its file (an empty data column, the file's id and length).
    private void PutCopy(SiloOperation.PutBlockCopy op, long fileId, List<(BlockAddress, long)> obsoleteFiles)
    {
        op.Address.WriteTo(_address);
        _copyFileOf.Parameters[0].Value = _address;
        // Not when the row names the very id just written: after a row's file was lost, the id counter (which starts
        // above the ids on disk) may hand that id out again for the same address, and the new file must stay.
        if (_copyFileOf.ExecuteScalar() is long previous && previous != fileId)
        {
            obsoleteFiles.Add((op.Address, previous));
        }
        object data = fileId > 0 ? Array.Empty<byte>() : op.Data;
        object file = fileId > 0 ? fileId : DBNull.Value;
        object length = fileId > 0 ? (long)op.Data.Length : DBNull.Value;
        foreach (var command in (ReadOnlySpan<SqliteCommand>)[_putBlockCopy, _moveBlockCopy])
        {
            command.Parameters[0].Value = _address;
            command.Parameters[1].Value = op.Shard.Value;
            command.Parameters[2].Value = data;
            command.Parameters[3].Value = file;
            command.Parameters[4].Value = length;
            if (command.ExecuteNonQuery() > 0)
            {
                return;
            }
        }
    }

    private void DeleteCopy(BlockAddress address, List<(BlockAddress, long)> obsoleteFiles)
    {
        _deleteBlockCopy.Parameters[0].Value = _address;
        if (_deleteBlockCopy.ExecuteScalar() is long removed)
        {
            obsoleteFiles.Add((address, removed));
        }
    }

    // The usual upsert, then the move when it changed no row (the record exists under another shard).
    private static void Put(SqliteCommand put, SqliteCommand move, object key, object shard, object data)
    {
        put.Parameters[0].Value = key;
        put.Parameters[1].Value = shard;
        put.Parameters[2].Value = data;
        if (put.ExecuteNonQuery() == 0)
        {
            Execute(move, key, shard, data);
        }
    }

    private static void Execute(SqliteCommand command, object a)
    {
        command.Parameters[0].Value = a;
        command.ExecuteNonQuery();
    }

    private static void Execute(SqliteCommand command, object a, object b)
    {
        command.Parameters[0].Value = a;
        command.Parameters[1].Value = b;
        command.ExecuteNonQuery();
    }

    private static void Execute(SqliteCommand command, object a, object b, object c)
    {
        command.Parameters[0].Value = a;
        command.Parameters[1].Value = b;
        command.Parameters[2].Value = c;
        command.ExecuteNonQuery();
    }

    private static void Execute(SqliteCommand command, object a, object b, object c, object d)
    {
        command.Parameters[0].Value = a;
        command.Parameters[1].Value = b;
        command.Parameters[2].Value = c;
        command.Parameters[3].Value = d;
        command.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = SqliteSilo.PrepareCommand(_connection, sql, parameters);
        _commands.Add(command);
        return command;
    }
}
