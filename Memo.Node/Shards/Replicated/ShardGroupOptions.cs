namespace Memo.Node.Shards.Replicated;

/// <summary>Limits of one shard group replica. Validated when the replica starts; every problem is reported at once.</summary>
public sealed record ShardGroupOptions
{
    /// <summary>Inputs (requests, inbound messages) the replica's inbox holds; inbound Raft messages beyond it are dropped,
    /// requests answered <see cref="ShardGroupOutcome.Dropped"/> (a status request waits for room).</summary>
    public int MailboxCapacity { get; init; } = 4096;

    /// <summary>Inputs taken per turn before the turn's Ready is processed (bounds the latency of one turn).</summary>
    public int MaxInputsPerTurn { get; init; } = 1024;

    /// <summary>Proposals and membership changes appended but not yet applied here; more are answered <see cref="ShardGroupOutcome.Dropped"/>.</summary>
    public int MaxPendingProposals { get; init; } = 16384;

    /// <summary>Linearizable reads in progress; more are answered <see cref="ShardGroupOutcome.Dropped"/>.</summary>
    public int MaxPendingReads { get; init; } = 4096;

    /// <summary>Ticks a read may wait for its leadership confirmation before it is answered <see cref="ShardGroupOutcome.Dropped"/>.</summary>
    public int ReadTimeoutTicks { get; init; } = 30;

    /// <summary>Log entries applied since the last snapshot that trigger a new snapshot and compaction.</summary>
    public int SnapshotThresholdEntries { get; init; } = 8192;

    /// <summary>Entries kept in the log below a new snapshot, so a follower slightly behind catches up by append, not snapshot.</summary>
    public int SnapshotKeepEntries { get; init; } = 512;

    /// <summary>
    /// Bootstrap a new group with its configuration in a snapshot at index 1 (so members added later receive it by
    /// snapshot) rather than at index 0. The node sets it; groups whose membership never changes need not.
    /// </summary>
    public bool BootstrapWithSnapshot { get; init; }

    /// <summary>
    /// The largest shard snapshot made (one message for the whole shard until chunking exists). A shard larger
    /// than this is not snapshotted and its log keeps growing; a warning is logged.
    /// </summary>
    public long MaxSnapshotBytes { get; init; } = 3L << 20;

    /// <summary>The transport's largest message body (<c>PeerTransportOptions.MaxMessageBytes</c>); larger Raft messages are dropped and logged.</summary>
    public int MaxMessageBytes { get; init; } = 4 << 20;

    /// <summary>
    /// The tick source's interval: the replica gives its Raft core the monotonic clock in these units, which
    /// times leader leases (<see cref="Raft.RaftConfig.LeaseReads"/>).
    /// </summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// First wait before an incarnation that failed (a commit the disk refused, a broken invariant) is started again
    /// from the silo by the replica's backoff supervisor; it doubles with each failure up to <see cref="MaxRestartBackoff"/>
    /// (<c>memo.shards.restart-backoff-min</c>).
    /// </summary>
    public TimeSpan MinRestartBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between restarts of a failing replica; one that then runs this long starts over from the
    /// minimum (<c>memo.shards.restart-backoff-max</c>).</summary>
    public TimeSpan MaxRestartBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>What runs the replica's turns (<c>memo.shards.turn-loop</c>): its own actor, or the node's turn loop,
    /// shared by every replica on the same silo, which commits many replicas' turns as one batch.</summary>
    public ShardTurnLoop TurnLoop { get; init; } = ShardTurnLoop.Replica;

    /// <summary>The monotonic clock read for <see cref="TickInterval"/>-based time (tests substitute a fake).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Every problem with these options; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Positive(MailboxCapacity, nameof(MailboxCapacity));
        Positive(MaxInputsPerTurn, nameof(MaxInputsPerTurn));
        Positive(MaxPendingProposals, nameof(MaxPendingProposals));
        Positive(MaxPendingReads, nameof(MaxPendingReads));
        Positive(ReadTimeoutTicks, nameof(ReadTimeoutTicks));
        if (!Enum.IsDefined(TurnLoop))
        {
            errors.Add($"{nameof(TurnLoop)} must be {ShardTurnLoop.Replica} or {ShardTurnLoop.Node} (was {TurnLoop})");
        }
        if (TickInterval <= TimeSpan.Zero)
        {
            errors.Add($"TickInterval must be positive (was {TickInterval})");
        }
        if (MinRestartBackoff <= TimeSpan.Zero || MaxRestartBackoff < MinRestartBackoff)
        {
            errors.Add($"the restart backoff is positive and its maximum at least its minimum (was {MinRestartBackoff} to {MaxRestartBackoff})");
        }
        Positive(SnapshotThresholdEntries, nameof(SnapshotThresholdEntries));
        Positive(MaxSnapshotBytes, nameof(MaxSnapshotBytes));
        Positive(MaxMessageBytes, nameof(MaxMessageBytes));
        if (SnapshotKeepEntries < 0)
        {
            errors.Add($"{nameof(SnapshotKeepEntries)} must be >= 0 (was {SnapshotKeepEntries})");
        }
        if (MaxSnapshotBytes >= MaxMessageBytes)
        {
            errors.Add($"{nameof(MaxSnapshotBytes)} ({MaxSnapshotBytes}) must be below {nameof(MaxMessageBytes)} ({MaxMessageBytes}): a snapshot travels in one message");
        }
        return errors;

        void Positive(long value, string name)
        {
            if (value < 1)
            {
                errors.Add($"{name} must be >= 1 (was {value})");
            }
        }
    }
}

/// <summary>What runs a shard replica's turns (docs/design/shard-groups.md, "The node turn loop").</summary>
public enum ShardTurnLoop
{
    /// <summary>Each replica's actor runs its own turns and commits each turn's batch alone (the silo group-commits
    /// concurrent batches into one flush).</summary>
    Replica,

    /// <summary>One loop per node (per silo) runs the turns of every replica that has work, stages them into one batch,
    /// commits it once, then finishes each turn.</summary>
    Node,
}
