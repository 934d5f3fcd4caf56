using Memo.Protocol.Blocks;
using Microsoft.Data.Sqlite;

namespace Memo.Node.Storage;

/// <summary>
/// One read-only connection of a <see cref="SqliteSilo"/>'s pool with every read statement prepared once. Used
/// by one reader at a time. Each statement runs in its own implicit read transaction, which in WAL mode sees
/// every transaction committed before it started.
/// </summary>
internal sealed class SqliteReadCommands : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _commands = [];
    private readonly byte[] _address = new byte[BlockAddress.Length];
    private readonly SqliteCommand _readBlock;
    private readonly SqliteCommand _readEntry;
    private readonly SqliteCommand _readMeta;
    private readonly SqliteCommand _readRaftState;
    private readonly SqliteCommand _readLog;
    private readonly SqliteCommand _readLogBounds;
    // Scans by [lower bound inclusive?, upper bound present?]: range predicates on the key, so SQLite walks the
    // key index from the start of the range and stops at LIMIT (a LIKE would misread '%' and '_' and scan).
    private readonly SqliteCommand _scanFrom;
    private readonly SqliteCommand _scanFromTo;
    private readonly SqliteCommand _scanAfter;
    private readonly SqliteCommand _scanAfterTo;
    private readonly SqliteCommand _shardBlocks;
    private readonly SqliteCommand _readBlockCopy;
    private readonly SqliteCommand _shardBlockCopies;
    private readonly SqliteCommand _readBlockFragment;
    private readonly SqliteCommand _shardBlockFragments;
    private readonly SqliteCommand _isRemoved;
    private readonly SqliteCommand _shardEntriesFrom;
    private readonly SqliteCommand _shardEntriesAfter;
    private readonly SqliteCommand _measureShard;

    /// <summary>Prepares every statement; throws when the schema does not match.</summary>
    public SqliteReadCommands(SqliteConnection connection)
    {
        _connection = connection;
        _readBlock = Prepare("SELECT data FROM blocks WHERE address = $address", ("$address", SqliteType.Blob));
        _readBlockCopy = Prepare("SELECT data, file_id, file_length FROM block_copies WHERE address = $address", ("$address", SqliteType.Blob));
        _shardBlockCopies = Prepare(
            "SELECT address FROM block_copies WHERE shard = $shard AND address > $after ORDER BY address LIMIT $limit",
            ("$shard", SqliteType.Integer), ("$after", SqliteType.Blob), ("$limit", SqliteType.Integer));
        _readBlockFragment = Prepare("SELECT data FROM block_fragments WHERE address = $address", ("$address", SqliteType.Blob));
        _shardBlockFragments = Prepare(
            "SELECT address, idx FROM block_fragments WHERE shard = $shard AND address > $after ORDER BY address LIMIT $limit",
            ("$shard", SqliteType.Integer), ("$after", SqliteType.Blob), ("$limit", SqliteType.Integer));
        _isRemoved = Prepare("SELECT 1 FROM removed_blocks WHERE address = $address", ("$address", SqliteType.Blob));
        _readEntry = Prepare("SELECT value FROM entries WHERE key = $key", ("$key", SqliteType.Text));
        _readMeta = Prepare("SELECT value FROM meta WHERE name = $name", ("$name", SqliteType.Text));
        _readRaftState = Prepare("SELECT data FROM raft_state WHERE shard = $shard", ("$shard", SqliteType.Integer));
        _readLog = Prepare(
            "SELECT idx, term, data FROM raft_log WHERE shard = $shard AND idx >= $from AND idx <= $to ORDER BY idx",
            ("$shard", SqliteType.Integer), ("$from", SqliteType.Integer), ("$to", SqliteType.Integer));
        // Two single-row lookups on the primary key; MIN and MAX in one SELECT would scan the shard's whole log.
        _readLogBounds = Prepare(
            "SELECT (SELECT idx FROM raft_log WHERE shard = $shard ORDER BY idx ASC LIMIT 1), " +
            "(SELECT idx FROM raft_log WHERE shard = $shard ORDER BY idx DESC LIMIT 1)",
            ("$shard", SqliteType.Integer));
        const string scan = "SELECT key, shard, value FROM entries WHERE ";
        _scanFrom = Prepare(scan + "key >= $lower ORDER BY key LIMIT $limit", ("$lower", SqliteType.Text), ("$limit", SqliteType.Integer));
        _scanFromTo = Prepare(scan + "key >= $lower AND key < $upper ORDER BY key LIMIT $limit",
            ("$lower", SqliteType.Text), ("$limit", SqliteType.Integer), ("$upper", SqliteType.Text));
        _scanAfter = Prepare(scan + "key > $lower ORDER BY key LIMIT $limit", ("$lower", SqliteType.Text), ("$limit", SqliteType.Integer));
        _scanAfterTo = Prepare(scan + "key > $lower AND key < $upper ORDER BY key LIMIT $limit",
            ("$lower", SqliteType.Text), ("$limit", SqliteType.Integer), ("$upper", SqliteType.Text));
        // A blob compares by memcmp, which is BlockAddress order; every address is greater than the empty blob.
        _shardBlocks = Prepare(
            "SELECT address, data FROM blocks WHERE shard = $shard AND address > $after ORDER BY address LIMIT $limit",
            ("$shard", SqliteType.Integer), ("$after", SqliteType.Blob), ("$limit", SqliteType.Integer));
        _shardEntriesFrom = Prepare(
            "SELECT key, value FROM entries WHERE shard = $shard ORDER BY key LIMIT $limit",
            ("$shard", SqliteType.Integer), ("$limit", SqliteType.Integer));
        _shardEntriesAfter = Prepare(
            "SELECT key, value FROM entries WHERE shard = $shard AND key > $after ORDER BY key LIMIT $limit",
            ("$shard", SqliteType.Integer), ("$limit", SqliteType.Integer), ("$after", SqliteType.Text));
        // length() of a TEXT is in characters; CAST to BLOB counts the UTF-8 bytes. SQLite reads a BLOB's length from
        // its record header, without loading overflow pages.
        _measureShard = Prepare(
            "SELECT (SELECT count(*) FROM entries WHERE shard = $shard), " +
            "(SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0) FROM entries WHERE shard = $shard), " +
            "(SELECT count(*) FROM blocks WHERE shard = $shard), " +
            "(SELECT coalesce(sum(length(address) + length(data)), 0) FROM blocks WHERE shard = $shard), " +
            "(SELECT count(*) FROM block_copies WHERE shard = $shard), " +
            "(SELECT coalesce(sum(length(address) + coalesce(file_length, length(data))), 0) FROM block_copies WHERE shard = $shard), " +
            "(SELECT count(*) FROM raft_log WHERE shard = $shard), " +
            "(SELECT coalesce(sum(length(data)), 0) FROM raft_log WHERE shard = $shard)",
            ("$shard", SqliteType.Integer));
    }

    /// <summary>A page of a shard's records: blocks after the position, then entries (see <see cref="ISilo.ScanShardAsync"/>).</summary>
    public IReadOnlyList<SiloShardRecord> ScanShard(ShardId shard, SiloShardPosition? after, int limit)
    {
        var records = new List<SiloShardRecord>(Math.Min(limit, 256));
        if (limit == 0)
        {
            return records;
        }
        if (after is not { Key: not null })
        {
            _shardBlocks.Parameters[0].Value = shard.Value;
            _shardBlocks.Parameters[1].Value = after?.Block is { } block ? block.ToArray() : Array.Empty<byte>();
            _shardBlocks.Parameters[2].Value = limit;
            using var reader = _shardBlocks.ExecuteReader();
            while (reader.Read())
            {
                records.Add(new SiloShardRecord(BlockAddress.FromBytes(reader.GetFieldValue<byte[]>(0)), null, reader.GetFieldValue<byte[]>(1)));
            }
        }
        if (records.Count < limit)
        {
            var command = after?.Key is null ? _shardEntriesFrom : _shardEntriesAfter;
            command.Parameters[0].Value = shard.Value;
            command.Parameters[1].Value = limit - records.Count;
            if (after?.Key is { } key)
            {
                command.Parameters[2].Value = key;
            }
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                records.Add(new SiloShardRecord(null, reader.GetString(0), reader.GetFieldValue<byte[]>(1)));
            }
        }
        return records;
    }

    /// <summary>A block stored through its shard, else a copy (whose bytes may be in its file), else nothing.</summary>
    public StoredBlock ReadBlock(BlockAddress address)
    {
        address.WriteTo(_address);
        _readBlock.Parameters[0].Value = _address;
        if (ReadBytes(_readBlock) is { } block)
        {
            return new StoredBlock(block, 0, 0);
        }
        _readBlockCopy.Parameters[0].Value = _address;
        using var reader = _readBlockCopy.ExecuteReader();
        if (!reader.Read())
        {
            return default;
        }
        return reader.IsDBNull(1)
            ? new StoredBlock(reader.GetFieldValue<byte[]>(0), 0, 0)
            : new StoredBlock(null, reader.GetInt64(1), reader.GetInt64(2));
    }

    public byte[]? ReadBlockFragment(BlockAddress address)
    {
        address.WriteTo(_address);
        _readBlockFragment.Parameters[0].Value = _address;
        return ReadBytes(_readBlockFragment);
    }

    /// <summary>This node's fragments of the shard's blocks after <paramref name="after"/>, ascending.</summary>
    public IReadOnlyList<SiloFragment> ListBlockFragments(ShardId shard, BlockAddress? after, int limit)
    {
        var fragments = new List<SiloFragment>(Math.Min(limit, 1024));
        if (limit == 0)
        {
            return fragments;
        }
        _shardBlockFragments.Parameters[0].Value = shard.Value;
        _shardBlockFragments.Parameters[1].Value = after is { } a ? a.ToArray() : Array.Empty<byte>();
        _shardBlockFragments.Parameters[2].Value = limit;
        using var reader = _shardBlockFragments.ExecuteReader();
        while (reader.Read())
        {
            fragments.Add(new SiloFragment(BlockAddress.FromBytes(reader.GetFieldValue<byte[]>(0)), reader.GetInt32(1)));
        }
        return fragments;
    }

    public bool IsRemoved(BlockAddress address)
    {
        address.WriteTo(_address);
        _isRemoved.Parameters[0].Value = _address;
        using var reader = _isRemoved.ExecuteReader();
        return reader.Read();
    }

    /// <summary>Addresses of the shard's block copies after <paramref name="after"/>, ascending.</summary>
    public IReadOnlyList<BlockAddress> ListBlockCopies(ShardId shard, BlockAddress? after, int limit)
    {
        var addresses = new List<BlockAddress>(Math.Min(limit, 1024));
        if (limit == 0)
        {
            return addresses;
        }
        _shardBlockCopies.Parameters[0].Value = shard.Value;
        _shardBlockCopies.Parameters[1].Value = after is { } a ? a.ToArray() : Array.Empty<byte>();
        _shardBlockCopies.Parameters[2].Value = limit;
        using var reader = _shardBlockCopies.ExecuteReader();
        while (reader.Read())
        {
            addresses.Add(BlockAddress.FromBytes(reader.GetFieldValue<byte[]>(0)));
        }
        return addresses;
    }

    public byte[]? ReadEntry(string key)
    {
        _readEntry.Parameters[0].Value = key;
        return ReadBytes(_readEntry);
    }

    public byte[]? ReadMeta(string name)
    {
        _readMeta.Parameters[0].Value = name;
        return ReadBytes(_readMeta);
    }

    public byte[]? ReadRaftState(ShardId shard)
    {
        _readRaftState.Parameters[0].Value = shard.Value;
        return ReadBytes(_readRaftState);
    }

    /// <summary>Entries from <paramref name="lower"/> (excluded when <paramref name="exclusive"/>) up to <paramref name="upper"/> (excluded; null: no bound).</summary>
    public IReadOnlyList<SiloEntry> Scan(string lower, bool exclusive, string? upper, int limit)
    {
        var command = (exclusive, upper is null) switch
        {
            (false, true) => _scanFrom,
            (false, false) => _scanFromTo,
            (true, true) => _scanAfter,
            (true, false) => _scanAfterTo,
        };
        command.Parameters[0].Value = lower;
        command.Parameters[1].Value = limit;
        if (upper is not null)
        {
            command.Parameters[2].Value = upper;
        }
        var entries = new List<SiloEntry>(Math.Min(limit, 256));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            entries.Add(new SiloEntry(reader.GetString(0), new ShardId(reader.GetInt32(1)), reader.GetFieldValue<byte[]>(2)));
        }
        return entries;
    }

    /// <summary>Entries with index in [<paramref name="from"/>, <paramref name="toInclusive"/>].</summary>
    public IReadOnlyList<SiloLogEntry> ReadLog(ShardId shard, long from, long toInclusive)
    {
        _readLog.Parameters[0].Value = shard.Value;
        _readLog.Parameters[1].Value = from;
        _readLog.Parameters[2].Value = toInclusive;
        var entries = new List<SiloLogEntry>();
        using var reader = _readLog.ExecuteReader();
        while (reader.Read())
        {
            entries.Add(new SiloLogEntry(new LogIndex(checked((ulong)reader.GetInt64(0))), new Term(checked((ulong)reader.GetInt64(1))), reader.GetFieldValue<byte[]>(2)));
        }
        return entries;
    }

    public SiloLogBounds ReadLogBounds(ShardId shard)
    {
        _readLogBounds.Parameters[0].Value = shard.Value;
        using var reader = _readLogBounds.ExecuteReader();
        if (!reader.Read() || reader.IsDBNull(0))
        {
            return new SiloLogBounds(LogIndex.Zero, LogIndex.Zero);
        }
        return new SiloLogBounds(new LogIndex(checked((ulong)reader.GetInt64(0))), new LogIndex(checked((ulong)reader.GetInt64(1))));
    }

    /// <summary>See <see cref="ISilo.MeasureShardAsync"/>.</summary>
    public SiloShardUsage MeasureShard(ShardId shard)
    {
        _measureShard.Parameters[0].Value = shard.Value;
        using var reader = _measureShard.ExecuteReader();
        reader.Read();
        return new SiloShardUsage(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
            reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7));
    }

    public void Dispose()
    {
        foreach (var command in _commands)
        {
            command.Dispose();
        }
        _connection.Dispose();
    }

    private static byte[]? ReadBytes(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? reader.GetFieldValue<byte[]>(0) : null;
    }

    private SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = SqliteSilo.PrepareCommand(_connection, sql, parameters);
        _commands.Add(command);
        return command;
    }
}
