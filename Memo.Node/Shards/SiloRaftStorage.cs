using System.Buffers.Binary;
using Memo.Node.Raft;
using Memo.Node.Storage;

namespace Memo.Node.Shards;

/// <summary>
/// The durable Raft log store of one shard replica on an <see cref="ISilo"/>: log entries, hard state and
/// snapshot metadata in the silo, with an in-memory mirror that answers the core's synchronous reads.
/// </summary>
/// <remarks>
/// <para>Use: <see cref="LoadAsync"/> at start-up (or <see cref="Bootstrap"/> for a new group); for each Ready,
/// <see cref="Stage"/> adds its durable part to the actor's <see cref="SiloBatch"/> (several shards may share one
/// batch: group commit), the actor commits the batch, and only then sends the Ready's after-persistence messages
/// and calls <see cref="RaftNode.Advance"/>. A failed commit is an I/O fault: the replica must stop, since the
/// mirror already reflects the staged writes.</para>
/// <para>Layout: entries via AppendLog/TruncateLogAfter/CompactLogThrough; one PutRaftState record (format
/// version, term, vote, commit, snapshot index/term/configuration); the snapshot payload as the metadata value
/// <c>raft/&lt;shard&gt;/snapshot</c>. The mirror holds every entry after the compaction point, so the log must
/// be compacted regularly (snapshots) to bound memory.</para>
/// </remarks>
public sealed class SiloRaftStorage : IRaftLogStore
{
    private const byte StateFormatVersion = 1;
    private const int MaxMembers = 1024;
    private readonly ShardId _shard;
    private readonly MemoryRaftLogStore _mirror;

    private SiloRaftStorage(ShardId shard, MemoryRaftLogStore mirror)
    {
        _shard = shard;
        _mirror = mirror;
    }

    /// <summary>The shard whose log this is.</summary>
    public ShardId Shard => _shard;

    /// <inheritdoc />
    public HardState HardState => _mirror.HardState;

    /// <inheritdoc />
    public LogIndex FirstIndex => _mirror.FirstIndex;

    /// <inheritdoc />
    public LogIndex LastIndex => _mirror.LastIndex;

    /// <inheritdoc />
    public RaftSnapshot Snapshot => _mirror.Snapshot;

    /// <inheritdoc />
    public bool TryGetTerm(LogIndex index, out Term term) => _mirror.TryGetTerm(index, out term);

    /// <inheritdoc />
    public IReadOnlyList<RaftEntry> GetEntries(LogIndex from, LogIndex toExclusive, long maxBytes) => _mirror.GetEntries(from, toExclusive, maxBytes);

    /// <summary>The metadata key holding a shard's snapshot payload.</summary>
    public static string SnapshotKey(ShardId shard) => $"raft/{shard.Value}/snapshot";

    /// <summary>A new group's store with its initial configuration; the caller commits <paramref name="batch"/>.</summary>
    public static SiloRaftStorage Bootstrap(ShardId shard, RaftMembership membership, SiloBatch batch)
    {
        var storage = new SiloRaftStorage(shard, MemoryRaftLogStore.Bootstrap(membership));
        batch.TruncateLogAfter(shard, LogIndex.Zero);
        batch.PutMeta(SnapshotKey(shard), []);
        batch.PutRaftState(shard, storage.EncodeState());
        return storage;
    }

    /// <summary>
    /// Like <see cref="Bootstrap"/>, but the initial configuration is a snapshot at index 1, term 1 holding
    /// <paramref name="data"/> (an empty shard). Configuration entries are changes relative to the previous
    /// configuration, so a member added later must learn the initial one: with the log starting at 2, the leader
    /// can only bring a new member up to date with a snapshot, which carries the configuration.
    /// </summary>
    public static SiloRaftStorage BootstrapWithSnapshot(ShardId shard, RaftMembership membership, byte[] data, SiloBatch batch)
    {
        var mirror = new MemoryRaftLogStore();
        mirror.ApplySnapshot(new RaftSnapshot(new SnapshotMetadata(new LogIndex(1), new Term(1), membership), data));
        mirror.SetHardState(new HardState(new Term(1), NodeId.None, new LogIndex(1)));
        var storage = new SiloRaftStorage(shard, mirror);
        batch.TruncateLogAfter(shard, LogIndex.Zero);
        batch.PutMeta(SnapshotKey(shard), data);
        batch.PutRaftState(shard, storage.EncodeState());
        return storage;
    }

    /// <summary>Loads a shard's durable Raft state (an empty store if the shard has none: a joining replica).</summary>
    public static async Task<SiloRaftStorage> LoadAsync(ISilo silo, ShardId shard, CancellationToken cancellationToken = default)
    {
        var mirror = new MemoryRaftLogStore();
        var state = await silo.ReadRaftStateAsync(shard, cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            return new SiloRaftStorage(shard, mirror);
        }

        var (hardState, metadata) = DecodeState(state);
        var data = await silo.ReadMetaAsync(SnapshotKey(shard), cancellationToken).ConfigureAwait(false) ?? [];
        mirror.ApplySnapshot(new RaftSnapshot(metadata, data));
        var bounds = await silo.ReadLogBoundsAsync(shard, cancellationToken).ConfigureAwait(false);
        if (!bounds.IsEmpty && bounds.Last > metadata.Index)
        {
            // Entries the snapshot covers (a kept tail) are skipped: the mirror starts after the snapshot.
            var next = LogIndex.Max(bounds.First, metadata.Index.Next());
            if (next != metadata.Index.Next())
            {
                throw new RaftInvariantException($"shard {shard}: log starts at {bounds.First}, after snapshot {metadata.Index} + 1");
            }

            while (next <= bounds.Last)
            {
                var end = LogIndex.Min(bounds.Last.Next(), next.Plus(4096));
                var chunk = await silo.ReadLogAsync(shard, next, end, cancellationToken).ConfigureAwait(false);
                if (chunk.Count == 0 || chunk[0].Index != next)
                {
                    throw new RaftInvariantException($"shard {shard}: log has a gap at {next}");
                }

                mirror.Append(chunk.Select(Decode).ToList());
                next = chunk[^1].Index.Next();
            }
        }

        mirror.SetHardState(hardState);
        return new SiloRaftStorage(shard, mirror);
    }

    /// <summary>Adds the durable part of <paramref name="ready"/> to <paramref name="batch"/> in contract order.</summary>
    public void Stage(Ready ready, SiloBatch batch)
    {
        var stateChanged = false;
        if (ready.Snapshot is { } snapshot)
        {
            batch.TruncateLogAfter(_shard, LogIndex.Zero);
            batch.PutMeta(SnapshotKey(_shard), snapshot.Data);
            _mirror.ApplySnapshot(snapshot);
            stateChanged = true;
        }

        if (ready.Entries.Count > 0)
        {
            var first = ready.Entries[0].Index;
            if (first <= _mirror.LastIndex)
            {
                batch.TruncateLogAfter(_shard, first.Previous());
            }

            foreach (var e in ready.Entries)
            {
                if (e.Index > _mirror.Snapshot.Index)
                {
                    batch.AppendLog(_shard, e.Index, e.Term, Encode(e));
                }
            }

            _mirror.Append(ready.Entries);
        }

        if (ready.HardState is { } hardState)
        {
            _mirror.SetHardState(hardState);
            stateChanged = true;
        }

        if (stateChanged)
        {
            batch.PutRaftState(_shard, EncodeState());
        }
    }

    /// <summary>
    /// Records a snapshot the state machine made (see <see cref="RaftNode.SnapshotMetadataAt"/>) and compacts the log
    /// through <paramref name="compactThrough"/> (at most the snapshot index).
    /// </summary>
    public void StageSnapshot(RaftSnapshot snapshot, LogIndex compactThrough, SiloBatch batch)
    {
        if (snapshot.Index <= _mirror.Snapshot.Index)
        {
            return;
        }

        _mirror.CreateSnapshot(snapshot, compactThrough);
        batch.PutMeta(SnapshotKey(_shard), snapshot.Data);
        batch.PutRaftState(_shard, EncodeState());
        batch.CompactLogThrough(_shard, _mirror.FirstIndex.Previous());
    }

    // An entry's stored payload: kind byte then data (the index and term are columns of their own).
    private static byte[] Encode(RaftEntry e)
    {
        var bytes = new byte[e.Data.Length + 1];
        bytes[0] = (byte)e.Kind;
        e.Data.CopyTo(bytes, 1);
        return bytes;
    }

    private static RaftEntry Decode(SiloLogEntry e)
    {
        if (e.Data.Length == 0 || !Enum.IsDefined((RaftEntryKind)e.Data[0]))
        {
            throw new RaftInvariantException($"stored entry {e.Index} has an unknown kind");
        }

        return new RaftEntry(e.Index, e.Term, (RaftEntryKind)e.Data[0], e.Data[1..]);
    }

    private byte[] EncodeState()
    {
        var hs = _mirror.HardState;
        var meta = _mirror.Snapshot.Metadata;
        var members = meta.Membership;
        var bytes = new byte[1 + 8 * 5 + 4 + 8 * members.Voters.Length + 4 + 8 * members.Learners.Length];
        var span = bytes.AsSpan();
        span[0] = StateFormatVersion;
        var offset = 1;
        Write(span, ref offset, hs.Term.Value);
        Write(span, ref offset, hs.Vote.Value);
        Write(span, ref offset, hs.Commit.Value);
        Write(span, ref offset, meta.Index.Value);
        Write(span, ref offset, meta.Term.Value);
        BinaryPrimitives.WriteInt32BigEndian(span[offset..], members.Voters.Length);
        offset += 4;
        foreach (var v in members.Voters)
        {
            Write(span, ref offset, v.Value);
        }

        BinaryPrimitives.WriteInt32BigEndian(span[offset..], members.Learners.Length);
        offset += 4;
        foreach (var l in members.Learners)
        {
            Write(span, ref offset, l.Value);
        }

        return bytes;
    }

    private static (HardState, SnapshotMetadata) DecodeState(byte[] bytes)
    {
        if (bytes.Length < 1 + 8 * 5 + 8 || bytes[0] != StateFormatVersion)
        {
            throw new RaftInvariantException("unknown or truncated Raft state record");
        }

        ReadOnlySpan<byte> span = bytes;
        var offset = 1;
        var hardState = new HardState(new Term(Read(span, ref offset)), new NodeId(Read(span, ref offset)), new LogIndex(Read(span, ref offset)));
        var index = new LogIndex(Read(span, ref offset));
        var term = new Term(Read(span, ref offset));
        var voters = ReadIds(span, ref offset);
        var learners = ReadIds(span, ref offset);
        return (hardState, new SnapshotMetadata(index, term, RaftMembership.Create(voters, learners)));
    }

    private static List<NodeId> ReadIds(ReadOnlySpan<byte> span, ref int offset)
    {
        if (span.Length < offset + 4)
        {
            throw new RaftInvariantException("truncated Raft state record");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(span[offset..]);
        offset += 4;
        if (count < 0 || count > MaxMembers || span.Length < offset + 8 * count)
        {
            throw new RaftInvariantException("corrupt member list in Raft state record");
        }

        var ids = new List<NodeId>(count);
        for (var i = 0; i < count; i++)
        {
            ids.Add(new NodeId(Read(span, ref offset)));
        }

        return ids;
    }

    private static void Write(Span<byte> span, ref int offset, ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(span[offset..], value);
        offset += 8;
    }

    private static ulong Read(ReadOnlySpan<byte> span, ref int offset)
    {
        var value = BinaryPrimitives.ReadUInt64BigEndian(span[offset..]);
        offset += 8;
        return value;
    }
}
