namespace Memo.Node.Raft;

/// <summary>Log replication (Raft §5.3), commit (§5.4.2), flow control and follower catch-up.</summary>
public sealed partial class RaftNode
{
    // Proposals not yet committed, for the MaxUncommittedBytes limit.
    private readonly Queue<(LogIndex Index, long Bytes)> _uncommitted = new();
    private long _uncommittedBytes;

    /// <summary>
    /// Appends an application command to the leader's log. Accepted means appended (not committed): the entry
    /// commits if it is later handed out in <see cref="Raft.Ready.CommittedEntries"/> with the same index and term,
    /// and is lost for good if another entry is committed at that index.
    /// </summary>
    public ProposeResult Propose(byte[] data)
    {
        if (Role != RaftRole.Leader)
        {
            return ProposeResult.NotLeader(Leader);
        }

        if (!_leadTransferee.IsNone)
        {
            return ProposeResult.Dropped("leadership transfer in progress");
        }

        if (data.Length > _config.MaxEntryBytes)
        {
            return ProposeResult.Invalid($"entry of {data.Length} bytes over the {_config.MaxEntryBytes} limit");
        }

        if (_uncommittedBytes + data.Length + RaftEntry.OverheadBytes > _config.MaxUncommittedBytes)
        {
            return ProposeResult.Dropped("too many uncommitted bytes");
        }

        var index = AppendEntry(RaftEntryKind.Normal, data);
        BroadcastAppend();
        return ProposeResult.Accepted(index, Term);
    }

    private LogIndex AppendEntry(RaftEntryKind kind, byte[] data)
    {
        var entry = new RaftEntry(_log.LastIndex.Next(), Term, kind, data);
        _log.Append([entry]);
        _uncommitted.Enqueue((entry.Index, entry.SizeBytes));
        _uncommittedBytes += entry.SizeBytes;
        OnEntriesAppended([entry]);
        return entry.Index;
    }

    private void StepLeader(RaftMessage m)
    {
        if (!_progress.TryGetValue(m.From, out var progress))
        {
            if (m.Kind is RaftMessageKind.Append or RaftMessageKind.Heartbeat or RaftMessageKind.Snapshot)
            {
                throw new RaftInvariantException($"two leaders in term {Term}: {Id.Value} and {m.From.Value}");
            }

            return;
        }

        switch (m.Kind)
        {
            case RaftMessageKind.AppendResponse:
                HandleAppendResponse(m, progress);
                break;
            case RaftMessageKind.HeartbeatResponse:
                HandleHeartbeatResponse(m, progress);
                break;
            case RaftMessageKind.ReadIndex:
                HandleReadIndexRequest(m.From, m.Context ?? []);
                break;
            case RaftMessageKind.Append or RaftMessageKind.Heartbeat or RaftMessageKind.Snapshot:
                throw new RaftInvariantException($"two leaders in term {Term}: {Id.Value} and {m.From.Value}");
        }
    }

    private void StepFollower(RaftMessage m)
    {
        switch (m.Kind)
        {
            case RaftMessageKind.Append or RaftMessageKind.Heartbeat or RaftMessageKind.Snapshot:
                RaftInvariantException.ThrowIf(
                    !Leader.IsNone && Leader != m.From,
                    $"two leaders in term {Term}: {Leader.Value} and {m.From.Value}");
                _electionElapsed = 0;
                HeardLeader();
                if (IsKnownMember(m.From))
                {
                    _ticksWithoutMemberLeader = 0;
                }

                Leader = m.From;
                if (m.Kind == RaftMessageKind.Append)
                {
                    HandleAppend(m);
                }
                else if (m.Kind == RaftMessageKind.Heartbeat)
                {
                    HandleHeartbeat(m);
                }
                else
                {
                    HandleSnapshot(m);
                }

                break;
            case RaftMessageKind.TimeoutNow:
                Hup(transfer: true);
                break;
            case RaftMessageKind.ReadIndexResponse:
                _readStates.Add(new ReadState(m.Index, m.Context ?? []));
                break;
        }
    }

    private void HandleAppend(RaftMessage m)
    {
        if (m.Index < _log.Committed)
        {
            Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
            return;
        }

        if (m.Index == LogIndex.Zero && IsUninitialized)
        {
            // We cannot interpret the log from its start without the group's initial configuration (held in the
            // bootstrap snapshot): rejecting index 0, which every initialised replica matches, asks for a snapshot.
            Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = m.From, Term = Term, Index = LogIndex.Zero, Reject = true });
            return;
        }

        var lastNew = _log.MaybeAppend(m.Index, m.LogTerm, m.Entries, out var appended, truncateConflicts: !Faults.HasFlag(RaftFaults.KeepConflictingSuffix));
        if (lastNew is { } last)
        {
            OnEntriesAppended(appended);
            _log.CommitTo(LogIndex.Min(m.Commit, last));
            Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = m.From, Term = Term, Index = last });
            return;
        }

        // Fast back-off: point the leader at our last entry whose term is at most the term it probed with.
        var hintIndex = LogIndex.Min(m.Index, _log.LastIndex);
        var (index, term) = _log.FindConflictByTerm(hintIndex, m.LogTerm);
        Send(new RaftMessage
        {
            Kind = RaftMessageKind.AppendResponse,
            From = Id,
            To = m.From,
            Term = Term,
            Index = m.Index,
            Reject = true,
            RejectHint = index,
            LogTerm = term,
        });
    }

    private void HandleHeartbeat(RaftMessage m)
    {
        _log.CommitTo(m.Commit);
        Send(new RaftMessage { Kind = RaftMessageKind.HeartbeatResponse, From = Id, To = m.From, Term = Term, Context = m.Context });
    }

    private void HandleAppendResponse(RaftMessage m, Progress progress)
    {
        progress.RecentActive = true;
        if (m.Reject && m.Index == LogIndex.Zero)
        {
            // An uninitialised replica (a new member with an empty store): it needs a snapshot first.
            SendSnapshot(m.From, progress);
            return;
        }

        if (!m.Reject && progress.State == ProgressState.Snapshot && m.Index >= progress.PendingSnapshot)
        {
            progress.MaybeUpdate(m.Index);
            progress.BecomeProbe();
            SendAppend(m.From);
            return;
        }

        if (m.Reject)
        {
            var nextProbe = m.RejectHint;
            if (m.LogTerm > Term.Zero)
            {
                nextProbe = _log.FindConflictByTerm(m.RejectHint, m.LogTerm).Index;
            }

            if (progress.MaybeDecreaseTo(m.Index, nextProbe))
            {
                if (progress.State == ProgressState.Replicate)
                {
                    progress.BecomeProbe();
                }

                SendAppend(m.From);
            }

            return;
        }

        var wasPaused = progress.IsPaused;
        // A probe answered at the index already matched also ends probing: a follower caught up by a snapshot of the
        // leader's last entry acknowledges the first probe at that index, and with no new entry to send it would stay
        // in probe (and a learner would never count as caught up to be promoted).
        var probeConfirmed = progress.State == ProgressState.Probe && m.Index == progress.Match && progress.Match > LogIndex.Zero;
        if (!progress.MaybeUpdate(m.Index) && !probeConfirmed)
        {
            return;
        }

        progress.StalledHeartbeats = 0;
        switch (progress.State)
        {
            case ProgressState.Probe:
                progress.BecomeReplicate();
                break;
            case ProgressState.Snapshot when progress.Match >= progress.PendingSnapshot || progress.Match.Next() >= _log.FirstIndex:
                progress.BecomeProbe();
                progress.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                progress.Inflights.FreeThrough(m.Index);
                break;
        }

        if (MaybeCommit() && _config.BroadcastCommit)
        {
            BroadcastAppend();
        }
        else if (wasPaused && _progress.ContainsKey(m.From))
        {
            // The commit may have applied a configuration that removed the sender.
            SendAppend(m.From);
        }

        // Pipelining: keep sending while the inflight window allows.
        while (_progress.ContainsKey(m.From) && SendAppend(m.From, sendIfEmpty: false))
        {
        }

        if (m.From == _leadTransferee && progress.Match == _log.LastIndex)
        {
            SendTimeoutNow(m.From);
        }
    }

    private void HandleHeartbeatResponse(RaftMessage m, Progress progress)
    {
        progress.RecentActive = true;
        progress.ProbeSent = false;
        if (progress.State == ProgressState.Replicate && progress.Match < _log.LastIndex)
        {
            if (progress.Inflights.IsFull)
            {
                progress.Inflights.FreeFirst();
            }

            // No acknowledgement over several heartbeat rounds: appends were probably lost; probe again.
            if (++progress.StalledHeartbeats >= StalledHeartbeatLimit)
            {
                progress.BecomeProbe();
            }
        }

        if (progress.Match < _log.LastIndex && progress.State == ProgressState.Probe)
        {
            SendAppend(m.From);
        }

        if (m.Context is { Length: > 0 } context)
        {
            AcknowledgeRead(m.From, context);
        }
    }

    private const int StalledHeartbeatLimit = 3;

    private void BroadcastAppend()
    {
        foreach (var id in _progress.Keys.ToArray())
        {
            if (id != Id)
            {
                SendAppend(id);
            }
        }
    }

    private void BroadcastHeartbeat(byte[]? context)
    {
        foreach (var (id, progress) in _progress)
        {
            if (id != Id)
            {
                // Never tell a follower a commit index beyond what it is known to hold.
                Send(new RaftMessage
                {
                    Kind = RaftMessageKind.Heartbeat,
                    From = Id,
                    To = id,
                    Term = Term,
                    Commit = LogIndex.Min(progress.Match, _log.Committed),
                    Context = context,
                });
            }
        }
    }

    /// <summary>Sends the next append (or the snapshot) to one follower; false when nothing was sent.</summary>
    private bool SendAppend(NodeId to, bool sendIfEmpty = true)
    {
        var progress = _progress[to];
        if (progress.IsPaused)
        {
            return false;
        }

        var prevIndex = progress.Next.Previous();
        if (progress.Next < _log.FirstIndex || !_log.TryTerm(prevIndex, out var prevTerm))
        {
            return SendSnapshot(to, progress);
        }

        var entries = _log.Entries(progress.Next, _log.LastIndex.Next(), _config.MaxAppendBytes, _config.MaxEntriesPerAppend);
        if (entries.Count == 0 && !sendIfEmpty)
        {
            return false;
        }

        Send(new RaftMessage
        {
            Kind = RaftMessageKind.Append,
            From = Id,
            To = to,
            Term = Term,
            Index = prevIndex,
            LogTerm = prevTerm,
            Entries = entries,
            Commit = _log.Committed,
        });
        if (progress.State == ProgressState.Replicate && entries.Count > 0)
        {
            var last = entries[^1].Index;
            progress.Next = last.Next();
            progress.Inflights.Add(last);
        }
        else if (progress.State == ProgressState.Probe)
        {
            progress.ProbeSent = true;
        }

        return true;
    }

    /// <summary>Advances the commit index to the highest index stored on a quorum of voters, if of the current term.</summary>
    private bool MaybeCommit()
    {
        var voters = Membership.Voters;
        if (voters.Length == 0)
        {
            return false;
        }

        var matches = new LogIndex[voters.Length];
        for (var i = 0; i < voters.Length; i++)
        {
            matches[i] = _progress.TryGetValue(voters[i], out var p) ? p.Match : LogIndex.Zero;
        }

        Array.Sort(matches);
        var candidate = matches[voters.Length - Membership.Quorum];
        if (candidate <= _log.Committed)
        {
            return false;
        }

        // Raft §5.4.2: never commit an earlier term's entry by counting replicas (Figure 8).
        if (!Faults.HasFlag(RaftFaults.CommitPreviousTermByCounting) && _log.Term(candidate) != Term)
        {
            return false;
        }

        _log.CommitTo(candidate);
        OnCommitAdvanced();
        return true;
    }

    private void OnCommitAdvanced()
    {
        while (_uncommitted.Count > 0 && _uncommitted.Peek().Index <= _log.Committed)
        {
            _uncommittedBytes -= _uncommitted.Dequeue().Bytes;
        }

        if (CommittedInCurrentTerm)
        {
            ReleaseReadsWaitingForCommit();
        }

        if (!Membership.IsVoter(Id) && _log.Committed >= LatestConfigIndex)
        {
            // Thesis §4.2.2: a leader removed from the configuration steps down once the removal is committed.
            BecomeFollower(Term, NodeId.None);
        }
    }

    /// <summary>
    /// True once the commit index holds an entry of the current term: a leader's commit index then covers every entry
    /// committed in earlier terms (thesis §6.4), the condition for serving reads at it.
    /// </summary>
    public bool CommittedInCurrentTerm => _log.TryTerm(_log.Committed, out var term) && term == Term;
}
