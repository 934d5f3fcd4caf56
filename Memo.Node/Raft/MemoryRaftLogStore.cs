namespace Memo.Node.Raft;

/// <summary>
/// An in-memory <see cref="IRaftLogStore"/> with the write operations a host performs for a Ready. Used by
/// tests, the simulator (as a replica's "disk") and the benchmark; <c>SiloRaftStorage</c> is the durable one.
/// Not thread-safe: one owner.
/// </summary>
public sealed class MemoryRaftLogStore : IRaftLogStore
{
    // _entries[0] is the entry at _offset + 1; _offset/_offsetTerm describe the last compacted entry.
    private readonly List<RaftEntry> _entries = [];
    private LogIndex _offset;
    private Term _offsetTerm;

    /// <summary>An empty store: a replica that will learn its configuration from a leader.</summary>
    public MemoryRaftLogStore()
    {
        Snapshot = new RaftSnapshot(SnapshotMetadata.Empty, []);
    }

    /// <summary>A store for a new group whose initial configuration is <paramref name="membership"/>.</summary>
    public static MemoryRaftLogStore Bootstrap(RaftMembership membership)
    {
        var store = new MemoryRaftLogStore();
        store.Snapshot = RaftSnapshot.Bootstrap(membership);
        return store;
    }

    /// <inheritdoc />
    public HardState HardState { get; private set; }

    /// <inheritdoc />
    public RaftSnapshot Snapshot { get; private set; }

    /// <inheritdoc />
    public LogIndex FirstIndex => _offset.Next();

    /// <inheritdoc />
    public LogIndex LastIndex => _offset.Plus((ulong)_entries.Count);

    /// <inheritdoc />
    public bool TryGetTerm(LogIndex index, out Term term)
    {
        if (index == _offset)
        {
            term = _offsetTerm;
            return true;
        }

        if (index < _offset || index > LastIndex)
        {
            term = Term.Zero;
            return false;
        }

        term = _entries[(int)(index.Value - _offset.Value - 1)].Term;
        return true;
    }

    /// <inheritdoc />
    public IReadOnlyList<RaftEntry> GetEntries(LogIndex from, LogIndex toExclusive, long maxBytes)
    {
        if (from < FirstIndex || toExclusive > LastIndex.Next() || from > toExclusive)
        {
            throw new ArgumentOutOfRangeException(nameof(from), $"entries [{from},{toExclusive}) outside stored [{FirstIndex},{LastIndex}]");
        }

        var result = new List<RaftEntry>();
        long bytes = 0;
        for (var i = from; i < toExclusive; i = i.Next())
        {
            var entry = _entries[(int)(i.Value - _offset.Value - 1)];
            bytes += entry.SizeBytes;
            if (result.Count > 0 && bytes > maxBytes)
            {
                break;
            }

            result.Add(entry);
        }

        return result;
    }

    /// <summary>Persists a Ready's durable part in contract order: snapshot, entries, hard state.</summary>
    public void Save(Ready ready)
    {
        if (ready.Snapshot is not null)
        {
            ApplySnapshot(ready.Snapshot);
        }

        Append(ready.Entries);
        if (ready.HardState is { } hardState)
        {
            SetHardState(hardState);
        }
    }

    /// <summary>Replaces the hard state.</summary>
    public void SetHardState(HardState hardState) => HardState = hardState;

    /// <summary>Appends entries; stored entries at or after the first new index are replaced, compacted ones are skipped.</summary>
    public void Append(IReadOnlyList<RaftEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var first = entries[0].Index;
        RaftInvariantException.ThrowIf(first > LastIndex.Next(), $"append at {first} leaves a gap after {LastIndex}");
        var skip = first <= _offset ? (int)(_offset.Value - first.Value + 1) : 0;
        if (skip >= entries.Count)
        {
            return;
        }

        var start = entries[skip].Index;
        var keep = (int)(start.Value - _offset.Value - 1);
        _entries.RemoveRange(keep, _entries.Count - keep);
        for (var i = skip; i < entries.Count; i++)
        {
            RaftInvariantException.ThrowIf(entries[i].Index != LastIndex.Next(), "appended entries are not contiguous");
            _entries.Add(entries[i]);
        }
    }

    /// <summary>Installs a snapshot received from a leader: the whole log is replaced by it.</summary>
    public void ApplySnapshot(RaftSnapshot snapshot)
    {
        RaftInvariantException.ThrowIf(snapshot.Index < Snapshot.Index, $"snapshot {snapshot.Index} older than stored {Snapshot.Index}");
        Snapshot = snapshot;
        _entries.Clear();
        _offset = snapshot.Index;
        _offsetTerm = snapshot.Term;
    }

    /// <summary>
    /// Records a snapshot the local state machine made at an applied index that is still in the log, and
    /// compacts the log through <paramref name="compactThrough"/> (at most the snapshot index; keeping a tail
    /// lets slightly lagging followers catch up from the log).
    /// </summary>
    public void CreateSnapshot(RaftSnapshot snapshot, LogIndex compactThrough)
    {
        RaftInvariantException.ThrowIf(snapshot.Index > LastIndex, $"snapshot {snapshot.Index} beyond last index {LastIndex}");
        RaftInvariantException.ThrowIf(compactThrough > snapshot.Index, "cannot compact beyond the snapshot");
        if (snapshot.Index <= Snapshot.Index)
        {
            return;
        }

        RaftInvariantException.ThrowIf(!TryGetTerm(snapshot.Index, out var term) || term != snapshot.Term, "snapshot term does not match the log");
        Snapshot = snapshot;
        Compact(compactThrough);
    }

    /// <summary>Drops entries through <paramref name="through"/>, which must be covered by the snapshot.</summary>
    public void Compact(LogIndex through)
    {
        if (through <= _offset)
        {
            return;
        }

        RaftInvariantException.ThrowIf(through > Snapshot.Index, "cannot compact entries the snapshot does not cover");
        RaftInvariantException.ThrowIf(through > LastIndex, "cannot compact beyond the last entry");
        TryGetTerm(through, out var term);
        _entries.RemoveRange(0, (int)(through.Value - _offset.Value));
        _offset = through;
        _offsetTerm = term;
    }

    /// <summary>An independent copy (the simulator's crash model keeps the durable copy apart from a live core).</summary>
    public MemoryRaftLogStore Clone()
    {
        var copy = new MemoryRaftLogStore { HardState = HardState, Snapshot = Snapshot, _offset = _offset, _offsetTerm = _offsetTerm };
        copy._entries.AddRange(_entries);
        return copy;
    }
}
