namespace Memo.Node.Raft;

/// <summary>The leader's view of one member's log (Raft Figure 2 nextIndex/matchIndex plus flow control).</summary>
internal sealed class Progress(LogIndex next, int maxInflight, bool isLearner)
{
    public LogIndex Match { get; set; }

    public LogIndex Next { get; set; } = next;

    public ProgressState State { get; private set; } = ProgressState.Probe;

    public bool IsLearner { get; set; } = isLearner;

    /// <summary>Heard from since the last CheckQuorum round.</summary>
    public bool RecentActive { get; set; }

    /// <summary>In Probe: an append is out, wait for its answer (or a heartbeat answer) before sending another.</summary>
    public bool ProbeSent { get; set; }

    public LogIndex PendingSnapshot { get; private set; }

    /// <summary>Ticks since the snapshot was sent; a lost snapshot is resent after a timeout.</summary>
    public int SnapshotTicks { get; set; }

    /// <summary>Heartbeat answers in Replicate without any acknowledgement in between (lost appends).</summary>
    public int StalledHeartbeats { get; set; }

    public Inflights Inflights { get; } = new(maxInflight);

    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.IsFull,
        _ => true,
    };

    public void BecomeProbe()
    {
        if (State == ProgressState.Snapshot)
        {
            Next = LogIndex.Max(Match.Next(), PendingSnapshot.Next());
        }
        else
        {
            Next = Match.Next();
        }

        Reset(ProgressState.Probe);
    }

    public void BecomeReplicate()
    {
        Next = Match.Next();
        Reset(ProgressState.Replicate);
    }

    public void BecomeSnapshot(LogIndex snapshotIndex)
    {
        Reset(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>An acknowledgement up to <paramref name="index"/>; false when stale.</summary>
    public bool MaybeUpdate(LogIndex index)
    {
        var updated = false;
        if (Match < index)
        {
            Match = index;
            updated = true;
            ProbeSent = false;
        }

        Next = LogIndex.Max(Next, index.Next());
        return updated;
    }

    /// <summary>
    /// A rejection of the append whose previous index was <paramref name="rejected"/>; moves Next back using the
    /// follower's hint. False when the rejection is stale (etcd MaybeDecrTo).
    /// </summary>
    public bool MaybeDecreaseTo(LogIndex rejected, LogIndex matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match.Next();
            return true;
        }

        if (Next.Previous() != rejected)
        {
            return false;
        }

        Next = LogIndex.Max(LogIndex.Min(rejected, matchHint.Next()), Match.Next());
        ProbeSent = false;
        return true;
    }

    private void Reset(ProgressState state)
    {
        State = state;
        ProbeSent = false;
        PendingSnapshot = LogIndex.Zero;
        SnapshotTicks = 0;
        StalledHeartbeats = 0;
        Inflights.Clear();
    }

    public override string ToString() => $"{State} match={Match} next={Next}" + (IsLearner ? " learner" : "") + (State == ProgressState.Snapshot ? $" pendingSnap={PendingSnapshot}" : "") + (IsPaused ? " paused" : "");
}
