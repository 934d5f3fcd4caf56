namespace Memo.Node.Raft;

/// <summary>
/// A message between two replicas of one group. Plain immutable data so the host can serialise it (the
/// cluster layer maps it to protobuf); which fields matter depends on <see cref="Kind"/>.
/// </summary>
public sealed record RaftMessage
{
    /// <summary>Context of a <see cref="RaftMessageKind.Vote"/> sent after <see cref="RaftMessageKind.TimeoutNow"/>: voters ignore their leader lease.</summary>
    public static readonly byte[] TransferContext = "transfer"u8.ToArray();

    /// <summary>The message type.</summary>
    public required RaftMessageKind Kind { get; init; }

    /// <summary>Sender.</summary>
    public required NodeId From { get; init; }

    /// <summary>Recipient.</summary>
    public required NodeId To { get; init; }

    /// <summary>The sender's term (for PreVote: the term it would campaign in).</summary>
    public Term Term { get; init; }

    /// <summary>Term of the entry at <see cref="Index"/> (Append, Vote), or the hint term on a rejected append.</summary>
    public Term LogTerm { get; init; }

    /// <summary>A log index whose meaning depends on <see cref="Kind"/>.</summary>
    public LogIndex Index { get; init; }

    /// <summary>Entries to append (Append only).</summary>
    public IReadOnlyList<RaftEntry> Entries { get; init; } = [];

    /// <summary>The leader's commit index (Append, Heartbeat).</summary>
    public LogIndex Commit { get; init; }

    /// <summary>True when a vote, pre-vote or append is refused.</summary>
    public bool Reject { get; init; }

    /// <summary>On a rejected append: the follower's suggested probe index (fast back-off, thesis §5.3).</summary>
    public LogIndex RejectHint { get; init; }

    /// <summary>The snapshot (Snapshot only).</summary>
    public RaftSnapshot? Snapshot { get; init; }

    /// <summary>Opaque bytes: a ReadIndex request id (ReadIndex, Heartbeat and responses) or <see cref="TransferContext"/>.</summary>
    public byte[]? Context { get; init; }

    /// <summary>
    /// True for messages only a leader sends (Append, Heartbeat, Snapshot): the host may send these before
    /// the same Ready's entries and hard state are durable (thesis §10.2.1), because the leader only counts
    /// its own log towards commit once persisted.
    /// </summary>
    public bool MayPrecedePersistence => Kind is RaftMessageKind.Append or RaftMessageKind.Heartbeat or RaftMessageKind.Snapshot;

    /// <inheritdoc />
    public override string ToString()
    {
        var s = $"{From.Value}->{To.Value} {Kind} Term:{Term}";
        switch (Kind)
        {
            case RaftMessageKind.Append:
                s += $" Log:{LogTerm}/{Index} Commit:{Commit}";
                if (Entries.Count > 0)
                {
                    s += " Entries:[" + string.Join(", ", Entries) + "]";
                }

                break;
            case RaftMessageKind.AppendResponse:
                s += Reject ? $" Rejected (Hint: {RejectHint}, HintTerm: {LogTerm}) Index:{Index}" : $" Index:{Index}";
                break;
            case RaftMessageKind.Vote or RaftMessageKind.PreVote:
                s += $" Log:{LogTerm}/{Index}" + (Context is not null ? " (transfer)" : "");
                break;
            case RaftMessageKind.VoteResponse or RaftMessageKind.PreVoteResponse:
                s += Reject ? " Rejected" : " Granted";
                break;
            case RaftMessageKind.Heartbeat:
                s += $" Commit:{Commit}";
                break;
            case RaftMessageKind.Snapshot:
                s += $" Snapshot:[{Snapshot?.Metadata}]";
                break;
            case RaftMessageKind.ReadIndexResponse:
                s += $" Index:{Index}";
                break;
        }

        if (Context is not null && Kind is RaftMessageKind.Heartbeat or RaftMessageKind.HeartbeatResponse or RaftMessageKind.ReadIndex or RaftMessageKind.ReadIndexResponse)
        {
            s += $" Ctx:{Convert.ToHexString(Context)}";
        }

        return s;
    }
}
