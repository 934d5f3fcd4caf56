namespace Memo.Node.Raft;

/// <summary>
/// Everything the host must do after feeding inputs to the core, in this order:
/// <list type="number">
/// <item>Send <see cref="MessagesBeforePersistence"/> (optional: they may also be sent with the rest).</item>
/// <item>Persist, atomically and durably: <see cref="Snapshot"/> (replaces the whole log), then <see cref="Entries"/>
/// (appended; an entry replaces any stored entry with the same or a higher index), then <see cref="HardState"/>.</item>
/// <item>Only then send <see cref="MessagesAfterPersistence"/>: votes and acknowledgements promise durable state.</item>
/// <item>Install <see cref="Snapshot"/> into the state machine, apply <see cref="CommittedEntries"/> in order, and
/// serve reads of <see cref="ReadStates"/> once applied up to their index.</item>
/// <item>Call <see cref="RaftNode.Advance"/> with this object. No other Ready is produced before that.</item>
/// </list>
/// </summary>
public sealed class Ready
{
    internal Ready(
        HardState? hardState,
        RaftSnapshot? snapshot,
        IReadOnlyList<RaftEntry> entries,
        IReadOnlyList<RaftMessage> messagesBefore,
        IReadOnlyList<RaftMessage> messagesAfter,
        IReadOnlyList<RaftEntry> committedEntries,
        IReadOnlyList<ReadState> readStates,
        NodeId leader,
        RaftRole role)
    {
        HardState = hardState;
        Snapshot = snapshot;
        Entries = entries;
        MessagesBeforePersistence = messagesBefore;
        MessagesAfterPersistence = messagesAfter;
        CommittedEntries = committedEntries;
        ReadStates = readStates;
        Leader = leader;
        Role = role;
    }

    /// <summary>The hard state to persist, or null when unchanged since the last Ready.</summary>
    public HardState? HardState { get; }

    /// <summary>A snapshot received from the leader, to persist (discarding the log) and install; null if none.</summary>
    public RaftSnapshot? Snapshot { get; }

    /// <summary>Entries to append to durable storage, ascending and contiguous.</summary>
    public IReadOnlyList<RaftEntry> Entries { get; }

    /// <summary>Leader messages that may be sent before persisting this Ready (see <see cref="RaftMessage.MayPrecedePersistence"/>).</summary>
    public IReadOnlyList<RaftMessage> MessagesBeforePersistence { get; }

    /// <summary>Messages that must not be sent before this Ready's snapshot, entries and hard state are durable.</summary>
    public IReadOnlyList<RaftMessage> MessagesAfterPersistence { get; }

    /// <summary>Committed entries to apply to the state machine, ascending and contiguous, after persisting.</summary>
    public IReadOnlyList<RaftEntry> CommittedEntries { get; }

    /// <summary>Confirmed ReadIndex requests.</summary>
    public IReadOnlyList<ReadState> ReadStates { get; }

    /// <summary>The leader as this replica knows it when the Ready was made (None if unknown).</summary>
    public NodeId Leader { get; }

    /// <summary>This replica's role when the Ready was made.</summary>
    public RaftRole Role { get; }

    /// <summary>True when something must be made durable before <see cref="MessagesAfterPersistence"/> go out.</summary>
    public bool MustPersist => HardState is not null || Snapshot is not null || Entries.Count > 0;

    /// <summary>All messages, the early ones first.</summary>
    public IEnumerable<RaftMessage> AllMessages => MessagesBeforePersistence.Concat(MessagesAfterPersistence);
}
