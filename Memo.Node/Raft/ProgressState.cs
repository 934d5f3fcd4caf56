namespace Memo.Node.Raft;

/// <summary>How the leader replicates to one follower (etcd's progress states).</summary>
public enum ProgressState
{
    /// <summary>Match unknown: one append at a time, waiting for the answer (after a rejection or on election).</summary>
    Probe = 0,

    /// <summary>Match known: appends are pipelined up to the inflight limit.</summary>
    Replicate = 1,

    /// <summary>A snapshot is on its way; nothing else is sent until it is acknowledged or times out.</summary>
    Snapshot = 2,
}
