namespace Memo.Node.Raft;

/// <summary>
/// Snapshots (Raft §7). The host makes snapshots of its state machine and compacts its store; the core sends the
/// store's latest snapshot to a follower that needs compacted entries, and installs one received from a leader.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>
    /// The metadata for a snapshot the host is about to make at <paramref name="index"/> (at most the applied index):
    /// the entry's term and the configuration in force there. Null when the index is no longer in the log (a
    /// snapshot from the leader is being installed, or the log is already compacted past it): skip this snapshot.
    /// </summary>
    public SnapshotMetadata? SnapshotMetadataAt(LogIndex index)
    {
        if (index > _log.Applied)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"snapshot index {index} beyond applied {_log.Applied}");
        }

        if (!_log.TryTerm(index, out var term) || index < _baseMembershipIndex)
        {
            return null;
        }

        return new SnapshotMetadata(index, term, MembershipAt(index));
    }

    /// <summary>A replica with an empty store that has not yet learned any configuration (a joining member).</summary>
    private bool IsUninitialized =>
        _baseMembershipIndex == LogIndex.Zero && _configHistory.Count == 0 && _baseMembership.Voters.Length == 0 && _log.LastIndex == LogIndex.Zero;

    private bool SendSnapshot(NodeId to, Progress progress)
    {
        var snapshot = _log.Snapshot;
        RaftInvariantException.ThrowIf(
            snapshot.Index.Next() < _log.FirstIndex,
            $"log compacted to {_log.FirstIndex} beyond snapshot {snapshot.Index}");
        if (SnapshotWouldEnfranchise(snapshot.Metadata.Membership, to))
        {
            return false;
        }
        Send(new RaftMessage { Kind = RaftMessageKind.Snapshot, From = Id, To = to, Term = Term, Snapshot = snapshot });
        progress.BecomeSnapshot(snapshot.Index);
        return true;
    }

    /// <summary>
    /// Whether sending a snapshot of <paramref name="snapshotMembership"/> to <paramref name="to"/> would make it a voter
    /// of a configuration the group has left behind. A replica's store is cleared when the group removes it, and the
    /// node may be placed in the group again later as a new learner under the same id; a snapshot older than its
    /// removal names it a voter of a configuration from before. It believes that configuration until the entries after
    /// the snapshot reach it, and the group's founder then finds itself the only voter of the bootstrap configuration:
    /// it elects itself and commits alone, a second group beside the real one. So the leader withholds such a snapshot
    /// until the host made a newer one (<see cref="SnapshotIsBehindConfiguration"/>); the follower stays in probe meanwhile.
    /// </summary>
    private bool SnapshotWouldEnfranchise(RaftMembership snapshotMembership, NodeId to) =>
        snapshotMembership.IsVoter(to) && !Membership.IsVoter(to) && !Faults.HasFlag(RaftFaults.SendStaleConfigurationSnapshots);

    /// <summary>
    /// True when the configuration in force at the applied index differs from the store's snapshot's: the host should
    /// make a snapshot at the applied index, so that what the leader sends a new member names the configuration that
    /// admitted it (see <see cref="SnapshotWouldEnfranchise"/>). Configuration changes are rare, so are these snapshots.
    /// </summary>
    public bool SnapshotIsBehindConfiguration =>
        _log.Applied > _log.Snapshot.Index && _log.Applied >= _baseMembershipIndex
        && !MembershipAt(_log.Applied).Equals(_log.Snapshot.Metadata.Membership);

    /// <summary>A snapshot not acknowledged within two election timeouts is presumed lost and is sent again.</summary>
    private void TickSnapshots()
    {
        foreach (var progress in _progress.Values)
        {
            if (progress.State == ProgressState.Snapshot && ++progress.SnapshotTicks > 2 * _config.ElectionTicks)
            {
                progress.BecomeProbe();
            }
        }
    }

    private void HandleSnapshot(RaftMessage m)
    {
        var snapshot = m.Snapshot ?? throw new RaftInvariantException("snapshot message without a snapshot");
        if (snapshot.Index == LogIndex.Zero && IsUninitialized && snapshot.Metadata.Membership.Voters.Length > 0)
        {
            // The bootstrap snapshot: it carries the group's initial configuration.
            _log.Restore(snapshot);
            OnSnapshotRestored(snapshot.Metadata);
            Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = m.From, Term = Term, Index = LogIndex.Zero });
            return;
        }

        if (snapshot.Index <= _log.Committed)
        {
            Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
            return;
        }

        if (_log.MatchTerm(snapshot.Index, snapshot.Term))
        {
            // Our log already holds the snapshot's last entry: it and everything before it are committed.
            _log.CommitTo(snapshot.Index);
            Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = m.From, Term = Term, Index = snapshot.Index });
            return;
        }

        _log.Restore(snapshot);
        OnSnapshotRestored(snapshot.Metadata);
        Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = m.From, Term = Term, Index = snapshot.Index });
    }
}
