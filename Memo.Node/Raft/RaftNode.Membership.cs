namespace Memo.Node.Raft;

/// <summary>
/// Single-server membership changes with learners (thesis §4.1-4.3). A replica uses the latest configuration in
/// its log, committed or not, and reverts if that entry is truncated. The leader proposes a change only when the
/// previous one is committed and it has committed an entry of its own term (the fix to the single-server change
/// bug Ongaro described in 2015), so at most one uncommitted configuration exists and any two configurations in
/// use have overlapping majorities.
/// </summary>
public sealed partial class RaftNode
{
    private readonly List<(LogIndex Index, RaftMembership Membership)> _configHistory = [];
    private RaftMembership _baseMembership = RaftMembership.Empty;
    private LogIndex _baseMembershipIndex;

    /// <summary>The configuration in force here: the latest in the log, else the snapshot's.</summary>
    public RaftMembership Membership => _configHistory.Count > 0 ? _configHistory[^1].Membership : _baseMembership;

    /// <summary>Test hook: a configuration entry in the log is not yet committed.</summary>
    internal bool HasPendingConfigChange => LatestConfigIndex > _log.Committed;

    private LogIndex LatestConfigIndex => _configHistory.Count > 0 ? _configHistory[^1].Index : _baseMembershipIndex;

    /// <summary>
    /// Proposes adding a learner, promoting a learner to voter, or removing a member. Dropped while another change
    /// is uncommitted or before the leader has committed an entry of its term.
    /// </summary>
    public ProposeResult ProposeConfigChange(ConfigChange change)
    {
        if (Role != RaftRole.Leader)
        {
            return ProposeResult.NotLeader(Leader);
        }

        if (!_leadTransferee.IsNone)
        {
            return ProposeResult.Dropped("leadership transfer in progress");
        }

        if (LatestConfigIndex > _log.Committed)
        {
            return ProposeResult.Dropped("a membership change is pending");
        }

        if (!CommittedInCurrentTerm)
        {
            return ProposeResult.Dropped("the leader has not yet committed an entry of its term");
        }

        if (Membership.Validate(change) is { } problem)
        {
            return ProposeResult.Invalid(problem);
        }

        var index = AppendEntry(RaftEntryKind.ConfigChange, change.Encode());
        BroadcastAppend();
        return ProposeResult.Accepted(index, Term);
    }

    /// <summary>The configuration in force at <paramref name="index"/> (not before the last installed snapshot).</summary>
    public RaftMembership MembershipAt(LogIndex index)
    {
        RaftInvariantException.ThrowIf(index < _baseMembershipIndex, $"configuration at {index} precedes the snapshot at {_baseMembershipIndex}");
        var membership = _baseMembership;
        foreach (var (configIndex, m) in _configHistory)
        {
            if (configIndex > index)
            {
                break;
            }

            membership = m;
        }

        return membership;
    }

    private void LoadMembership(IRaftLogStore store)
    {
        _baseMembership = store.Snapshot.Metadata.Membership;
        _baseMembershipIndex = store.Snapshot.Index;
        var next = store.FirstIndex;
        var end = store.LastIndex.Next();
        while (next < end)
        {
            var chunk = store.GetEntries(next, end, 4 << 20);
            OnEntriesAppended(chunk);
            next = chunk[^1].Index.Next();
        }
    }

    private void OnEntriesAppended(IReadOnlyList<RaftEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var changed = false;
        while (_configHistory.Count > 0 && _configHistory[^1].Index >= entries[0].Index)
        {
            RaftInvariantException.ThrowIf(_configHistory[^1].Index <= _log.Committed, "a committed configuration entry was truncated");
            _configHistory.RemoveAt(_configHistory.Count - 1);
            changed = true;
        }

        foreach (var entry in entries)
        {
            // Configurations at or before the base (a snapshot) are already part of it.
            if (entry.Kind == RaftEntryKind.ConfigChange && entry.Index > _baseMembershipIndex)
            {
                var change = ConfigChange.Decode(entry.Data);
                _configHistory.Add((entry.Index, Membership.Apply(change)));
                changed = true;
            }
        }

        // Fold configurations the snapshot already covers into the base, so the history stays short.
        var snapshotIndex = _log.Snapshot.Index;
        while (_configHistory.Count > 0 && _configHistory[0].Index <= snapshotIndex && _configHistory[0].Index <= _log.Committed)
        {
            (_baseMembershipIndex, _baseMembership) = (_configHistory[0].Index, _configHistory[0].Membership);
            _configHistory.RemoveAt(0);
        }

        if (changed)
        {
            OnMembershipChanged();
        }
    }

    private void OnSnapshotRestored(SnapshotMetadata metadata)
    {
        _configHistory.Clear();
        _baseMembership = metadata.Membership;
        _baseMembershipIndex = metadata.Index;
        OnMembershipChanged();
    }

    private void OnMembershipChanged()
    {
        ForgetLeaseOnMembershipChange();
        if (Role != RaftRole.Leader)
        {
            return;
        }

        var membership = Membership;
        foreach (var id in _progress.Keys.ToArray())
        {
            if (!membership.Contains(id))
            {
                _progress.Remove(id);
            }
        }

        foreach (var member in membership.All)
        {
            if (_progress.TryGetValue(member, out var progress))
            {
                progress.IsLearner = membership.IsLearner(member);
            }
            else
            {
                _progress[member] = new Progress(_log.LastIndex.Next(), _config.MaxInflightAppends, membership.IsLearner(member)) { RecentActive = true };
            }
        }

        if (!_leadTransferee.IsNone && !membership.IsVoter(_leadTransferee))
        {
            _leadTransferee = NodeId.None;
        }

        if (MaybeCommit())
        {
            BroadcastAppend();
        }
    }
}
