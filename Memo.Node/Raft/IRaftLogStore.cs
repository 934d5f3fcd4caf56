namespace Memo.Node.Raft;

/// <summary>
/// The durable state a core reads: what has been persisted from earlier Readys. Read-only to the core and
/// synchronous (the core never waits); implementations keep what the core may ask for in memory.
/// </summary>
/// <remarks>
/// Invariants every implementation keeps (checked by the log-store contract suite):
/// <list type="bullet">
/// <item>Stored entries are contiguous from <see cref="FirstIndex"/> to <see cref="LastIndex"/>; an empty log has
/// <c>LastIndex == FirstIndex - 1</c>.</item>
/// <item><c>FirstIndex - 1 &lt;= Snapshot.Index</c>: every compacted entry is covered by the snapshot, and the term of
/// <c>FirstIndex - 1</c> stays known.</item>
/// <item>Writes are applied in the order of the Ready contract: snapshot, then entries, then hard state.</item>
/// </list>
/// </remarks>
public interface IRaftLogStore
{
    /// <summary>The persisted term, vote and commit.</summary>
    HardState HardState { get; }

    /// <summary>The index of the first stored entry (snapshot index + 1 when the log is compacted to the snapshot).</summary>
    LogIndex FirstIndex { get; }

    /// <summary>The index of the last stored entry, or <c>FirstIndex - 1</c> when none is stored.</summary>
    LogIndex LastIndex { get; }

    /// <summary>The term of the entry at <paramref name="index"/>; false when compacted or beyond the end. <c>FirstIndex - 1</c> is always known.</summary>
    bool TryGetTerm(LogIndex index, out Term term);

    /// <summary>
    /// Stored entries in [<paramref name="from"/>, <paramref name="toExclusive"/>), stopping early once
    /// <paramref name="maxBytes"/> would be exceeded (at least one entry is returned). The range must be stored.
    /// </summary>
    IReadOnlyList<RaftEntry> GetEntries(LogIndex from, LogIndex toExclusive, long maxBytes);

    /// <summary>The latest snapshot (index 0 with the initial configuration for a bootstrapped group).</summary>
    RaftSnapshot Snapshot { get; }
}
