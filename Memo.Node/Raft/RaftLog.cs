namespace Memo.Node.Raft;

/// <summary>
/// A replica's view of its log: the durable part in the <see cref="IRaftLogStore"/> plus an unstable tail
/// (entries and possibly a snapshot not yet persisted by the host). Indexes at or after
/// <see cref="_unstableOffset"/> are answered from the tail, earlier ones from the store.
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftLogStore _store;
    private readonly List<RaftEntry> _unstable = [];
    private LogIndex _unstableOffset;
    private RaftSnapshot? _unstableSnapshot;

    public RaftLog(IRaftLogStore store, LogIndex applied)
    {
        _store = store;
        _unstableOffset = store.LastIndex.Next();
        Committed = store.HardState.Commit;
        var floor = store.FirstIndex.Previous();
        RaftInvariantException.ThrowIf(store.Snapshot.Index < floor, $"store compacted through {floor} beyond its snapshot {store.Snapshot.Index}");
        RaftInvariantException.ThrowIf(Committed > store.LastIndex, $"persisted commit {Committed} beyond last index {store.LastIndex}");
        if (Committed < store.Snapshot.Index)
        {
            Committed = store.Snapshot.Index;
        }

        Applied = LogIndex.Max(applied, store.Snapshot.Index);
        RaftInvariantException.ThrowIf(Applied > Committed, $"applied {Applied} beyond commit {Committed}");
    }

    public LogIndex Committed { get; private set; }

    public LogIndex Applied { get; private set; }

    /// <summary>Highest committed index already handed to the host in a Ready not yet advanced.</summary>
    public LogIndex Applying { get; set; }

    public RaftSnapshot? UnstableSnapshot => _unstableSnapshot;

    public IReadOnlyList<RaftEntry> UnstableEntries => _unstable;

    public LogIndex FirstIndex => _unstableSnapshot is { } s ? s.Index.Next() : _store.FirstIndex;

    public LogIndex LastIndex => _unstable.Count > 0
        ? _unstable[^1].Index
        : _unstableSnapshot is { } s ? s.Index : _store.LastIndex;

    public Term LastTerm => Term(LastIndex);

    /// <summary>The last index the host has made durable (the leader counts only this for itself).</summary>
    public LogIndex LastStableIndex => _unstableSnapshot is not null ? LogIndex.Zero : _unstableOffset.Previous();

    public RaftSnapshot Snapshot => _unstableSnapshot ?? _store.Snapshot;

    public bool TryTerm(LogIndex index, out Term term)
    {
        if (_unstableSnapshot is { } s && index == s.Index)
        {
            term = s.Term;
            return true;
        }

        if (index >= _unstableOffset && _unstable.Count > 0 && index <= _unstable[^1].Index)
        {
            term = _unstable[(int)(index.Value - _unstableOffset.Value)].Term;
            return true;
        }

        if (_unstableSnapshot is not null || index >= _unstableOffset)
        {
            term = Node.Term.Zero;
            return false;
        }

        return _store.TryGetTerm(index, out term);
    }

    /// <summary>The term at an index that must exist (not compacted, not beyond the end).</summary>
    public Term Term(LogIndex index)
    {
        RaftInvariantException.ThrowIf(!TryTerm(index, out var term), $"term of index {index} unavailable (log [{FirstIndex},{LastIndex}])");
        return term;
    }

    public bool MatchTerm(LogIndex index, Term term) => TryTerm(index, out var t) && t == term;

    /// <summary>Raft §5.4.1: a candidate's log is at least as up-to-date as ours.</summary>
    public bool IsUpToDate(LogIndex lastIndex, Term lastTerm) =>
        lastTerm > LastTerm || (lastTerm == LastTerm && lastIndex >= LastIndex);

    /// <summary>Entries in [from, toExclusive) limited by bytes (at least one returned); the range must be available.</summary>
    public IReadOnlyList<RaftEntry> Entries(LogIndex from, LogIndex toExclusive, long maxBytes, int maxCount = int.MaxValue)
    {
        RaftInvariantException.ThrowIf(from < FirstIndex || toExclusive > LastIndex.Next(), $"entries [{from},{toExclusive}) outside log [{FirstIndex},{LastIndex}]");
        var result = new List<RaftEntry>();
        if (from >= toExclusive)
        {
            return result;
        }

        long bytes = 0;
        if (from < _unstableOffset && _unstableSnapshot is null)
        {
            var storedEnd = LogIndex.Min(toExclusive, _unstableOffset);
            foreach (var e in _store.GetEntries(from, storedEnd, maxBytes))
            {
                bytes += e.SizeBytes;
                result.Add(e);
                if (result.Count >= maxCount)
                {
                    return result;
                }
            }

            if (result.Count < (int)(storedEnd.Value - from.Value))
            {
                return result;
            }
        }

        var start = LogIndex.Max(from, _unstableOffset);
        for (var i = start; i < toExclusive; i = i.Next())
        {
            var e = _unstable[(int)(i.Value - _unstableOffset.Value)];
            bytes += e.SizeBytes;
            if ((result.Count > 0 && bytes > maxBytes) || result.Count >= maxCount)
            {
                break;
            }

            result.Add(e);
        }

        return result;
    }

    /// <summary>
    /// Follower side of AppendEntries (Raft §5.3): appends when the entry before matches, truncating a conflicting
    /// suffix. Returns the last index known to match the leader, or null on mismatch. The caller then advances the
    /// commit index to min(leader commit, returned index). <paramref name="truncateConflicts"/> false is the
    /// TEST-ONLY planted bug <see cref="RaftFaults.KeepConflictingSuffix"/>.
    /// </summary>
    public LogIndex? MaybeAppend(LogIndex prevIndex, Term prevTerm, IReadOnlyList<RaftEntry> entries, out IReadOnlyList<RaftEntry> appended, bool truncateConflicts = true)
    {
        appended = [];
        if (!MatchTerm(prevIndex, prevTerm))
        {
            return null;
        }

        var lastNew = prevIndex.Plus((ulong)entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            RaftInvariantException.ThrowIf(e.Index != prevIndex.Plus((ulong)i + 1), "append entries are not contiguous");
            if (!MatchTerm(e.Index, e.Term))
            {
                if (!truncateConflicts && e.Index <= LastIndex)
                {
                    continue;
                }

                RaftInvariantException.ThrowIf(e.Index <= Committed, $"entry {e.Index} conflicts with committed log (commit {Committed})");
                appended = entries.Skip(i).ToList();
                Append(appended);
                break;
            }
        }

        return lastNew;
    }

    /// <summary>Appends to the unstable tail; entries at or after the first new index are replaced.</summary>
    public void Append(IReadOnlyList<RaftEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var after = entries[0].Index;
        RaftInvariantException.ThrowIf(after <= Committed, $"append at {after} would overwrite committed entries (commit {Committed})");
        RaftInvariantException.ThrowIf(after > LastIndex.Next(), $"append at {after} leaves a gap after {LastIndex}");
        var prevTerm = Term(after.Previous());
        foreach (var e in entries)
        {
            RaftInvariantException.ThrowIf(e.Term < prevTerm, $"entry {e.Index} term {e.Term} lower than its predecessor's {prevTerm}");
            prevTerm = e.Term;
        }

        if (after == _unstableOffset.Plus((ulong)_unstable.Count))
        {
            _unstable.AddRange(entries);
        }
        else if (after <= _unstableOffset)
        {
            // Replaces part of the durable log too; the host's append truncates the stored suffix.
            _unstable.Clear();
            _unstable.AddRange(entries);
            _unstableOffset = after;
        }
        else
        {
            var keep = (int)(after.Value - _unstableOffset.Value);
            _unstable.RemoveRange(keep, _unstable.Count - keep);
            _unstable.AddRange(entries);
        }
    }

    public void CommitTo(LogIndex index)
    {
        if (index <= Committed)
        {
            return;
        }

        RaftInvariantException.ThrowIf(index > LastIndex, $"commit {index} beyond last index {LastIndex}");
        Committed = index;
    }

    /// <summary>
    /// The host has made <paramref name="persisted"/> (a Ready's entries) durable: the longest prefix of the unstable
    /// tail that those entries still match leaves the tail. Appends handled while the Ready was being written may
    /// have replaced part of it (a newer leader's conflicting suffix, possibly shorter than what it replaced); the
    /// entries before the replaced part are durable all the same and must leave the tail, or the tail would keep
    /// starting below what the host may compact once it has applied them (the tail's first index then has an
    /// unknown predecessor, and the next Ready rewrites entries the store has already compacted away). An entry is
    /// identified by its index and term (Raft's log matching), so matching terms mean the same entry.
    /// </summary>
    public void StableTo(IReadOnlyList<RaftEntry> persisted)
    {
        if (persisted.Count == 0 || _unstable.Count == 0 || _unstableSnapshot is not null)
        {
            // A snapshot received meanwhile replaces the whole stored log when written: nothing after it is durable yet.
            return;
        }

        var first = persisted[0].Index;
        if (_unstableOffset < first || _unstableOffset > persisted[^1].Index)
        {
            // The tail was replaced from below what the Ready wrote (its head is not durable), or the Ready's entries
            // have all left the tail already: nothing more to mark.
            return;
        }

        var end = LogIndex.Min(persisted[^1].Index, _unstable[^1].Index);
        var stable = 0;
        for (var i = _unstableOffset; i <= end; i = i.Next())
        {
            if (_unstable[(int)(i.Value - _unstableOffset.Value)].Term != persisted[(int)(i.Value - first.Value)].Term)
            {
                break;
            }

            stable++;
        }

        _unstable.RemoveRange(0, stable);
        _unstableOffset = _unstableOffset.Plus((ulong)stable);
    }

    public void StableSnapshotTo(LogIndex index)
    {
        if (_unstableSnapshot is { } s && s.Index == index)
        {
            _unstableSnapshot = null;
        }
    }

    public void AppliedTo(LogIndex index)
    {
        if (index <= Applied)
        {
            return;
        }

        RaftInvariantException.ThrowIf(index > Committed, $"applied {index} beyond commit {Committed}");
        Applied = index;
    }

    /// <summary>Replaces the whole log by a snapshot from the leader (Raft §7).</summary>
    public void Restore(RaftSnapshot snapshot)
    {
        RaftInvariantException.ThrowIf(
            snapshot.Index <= Committed && !(snapshot.Index == LogIndex.Zero && LastIndex == LogIndex.Zero),
            "restoring a snapshot at or below the commit index");
        Committed = snapshot.Index;
        _unstable.Clear();
        _unstableOffset = snapshot.Index.Next();
        _unstableSnapshot = snapshot;
    }

    /// <summary>
    /// Fast back-off (etcd findConflictByTerm): the largest index at or below <paramref name="index"/> whose term
    /// is at most <paramref name="term"/>, with that term (zero when unknown).
    /// </summary>
    public (LogIndex Index, Term Term) FindConflictByTerm(LogIndex index, Term term)
    {
        while (true)
        {
            if (!TryTerm(index, out var t))
            {
                return (index, Node.Term.Zero);
            }

            if (t <= term || index == LogIndex.Zero)
            {
                return (index, t);
            }

            index = index.Previous();
        }
    }

    /// <summary>Committed entries not yet handed to the application, up to <paramref name="maxBytes"/>.</summary>
    public IReadOnlyList<RaftEntry> NextCommittedEntries(long maxBytes)
    {
        if (_unstableSnapshot is not null)
        {
            return [];
        }

        var from = LogIndex.Max(LogIndex.Max(Applied, Applying).Next(), FirstIndex);
        if (from > Committed)
        {
            return [];
        }

        return Entries(from, Committed.Next(), maxBytes);
    }

    public bool HasNextCommittedEntries =>
        _unstableSnapshot is null && LogIndex.Max(LogIndex.Max(Applied, Applying).Next(), FirstIndex) <= Committed;
}
