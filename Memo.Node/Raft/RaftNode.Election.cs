namespace Memo.Node.Raft;

/// <summary>Leader election (Raft §5.2) with PreVote and CheckQuorum (thesis §9.6) and leadership transfer (thesis §3.10).</summary>
public sealed partial class RaftNode
{
    private NodeId _leadTransferee;

    /// <summary>Starts an election now (as if the election timeout fired); no effect on a leader or a non-voter.</summary>
    public void Campaign() => Hup(transfer: false);

    /// <summary>
    /// Asks the leader to hand leadership to <paramref name="target"/>: it stops accepting proposals, brings the
    /// target up to date, then tells it to campaign at once. Abandoned after an election timeout.
    /// </summary>
    public ProposeResult TransferLeadership(NodeId target)
    {
        if (Role != RaftRole.Leader)
        {
            return ProposeResult.NotLeader(Leader);
        }

        if (target == Id)
        {
            return ProposeResult.Invalid("already the leader");
        }

        if (!Membership.IsVoter(target))
        {
            return ProposeResult.Invalid("target is not a voter");
        }

        if (_leadTransferee == target)
        {
            return ProposeResult.Accepted(LogIndex.Zero, Term);
        }

        _leadTransferee = target;
        GiveUpLease();
        _electionElapsed = 0;
        var progress = _progress[target];
        if (progress.Match == _log.LastIndex)
        {
            SendTimeoutNow(target);
        }
        else
        {
            SendAppend(target);
        }

        return ProposeResult.Accepted(LogIndex.Zero, Term);
    }

    private void SendTimeoutNow(NodeId to) =>
        Send(new RaftMessage { Kind = RaftMessageKind.TimeoutNow, From = Id, To = to, Term = Term });

    private void TickElection()
    {
        _electionElapsed++;
        if (Promotable && _electionElapsed >= _randomizedElectionTimeout && !InVoterLease)
        {
            _electionElapsed = 0;
            Hup(transfer: false);
        }
    }

    private void TickLeader()
    {
        _heartbeatElapsed++;
        _electionElapsed++;
        if (_electionElapsed >= _config.ElectionTicks)
        {
            _electionElapsed = 0;
            if (_config.CheckQuorum && !QuorumActive())
            {
                BecomeFollower(Term, NodeId.None);
                return;
            }

            _leadTransferee = NodeId.None;
        }

        TickSnapshots();
        if (_heartbeatElapsed >= _config.HeartbeatTicks)
        {
            _heartbeatElapsed = 0;
            BroadcastHeartbeat(HeartbeatContext());
        }
    }

    /// <summary>CheckQuorum: were a majority of voters heard from during the last election timeout? Resets the marks.</summary>
    private bool QuorumActive()
    {
        var active = 0;
        foreach (var voter in Membership.Voters)
        {
            if (voter == Id || (_progress.TryGetValue(voter, out var p) && p.RecentActive))
            {
                active++;
            }
        }

        foreach (var (id, p) in _progress)
        {
            p.RecentActive = id == Id;
        }

        return active >= Membership.Quorum;
    }

    private void Hup(bool transfer)
    {
        if (Role == RaftRole.Leader || !Promotable)
        {
            return;
        }

        StartCampaign(preVote: _config.PreVote && !transfer, transfer);
    }

    private void StartCampaign(bool preVote, bool transfer)
    {
        RaftMessageKind kind;
        Term voteTerm;
        if (preVote)
        {
            BecomePreCandidate();
            kind = RaftMessageKind.PreVote;
            voteTerm = Term.Next();
        }
        else
        {
            BecomeCandidate();
            kind = RaftMessageKind.Vote;
            voteTerm = Term;
        }

        if (Poll(Id, granted: true) == VoteOutcome.Won)
        {
            if (preVote)
            {
                StartCampaign(preVote: false, transfer);
            }
            else
            {
                BecomeLeader();
            }

            return;
        }

        var lastIndex = _log.LastIndex;
        var lastTerm = _log.LastTerm;
        foreach (var voter in Membership.Voters)
        {
            if (voter != Id)
            {
                Send(new RaftMessage
                {
                    Kind = kind,
                    From = Id,
                    To = voter,
                    Term = voteTerm,
                    Index = lastIndex,
                    LogTerm = lastTerm,
                    Context = transfer ? RaftMessage.TransferContext : null,
                });
            }
        }
    }

    private void HandleVoteRequest(RaftMessage m)
    {
        var isPreVote = m.Kind == RaftMessageKind.PreVote;
        if (InVoterLease && Vote != m.From && LeaseApplies(m.Kind) && !m.Context.AsSpan().SequenceEqual(RaftMessage.TransferContext))
        {
            // In the asked term already (a higher-term answer moved us there, not the leader's death): the lease
            // this replica acknowledged still binds it (RaftNode.Lease.cs, InVoterLease).
            return;
        }

        var responseKind = isPreVote ? RaftMessageKind.PreVoteResponse : RaftMessageKind.VoteResponse;
        var canVote = Vote == m.From
            || (Vote.IsNone && Leader.IsNone)
            || (isPreVote && m.Term > Term);
        var upToDate = Faults.HasFlag(RaftFaults.GrantVoteIgnoringLog) || _log.IsUpToDate(m.Index, m.LogTerm);
        if (canVote && upToDate)
        {
            // A granted pre-vote answers in the asked term so the pre-candidate counts it without stepping down.
            Send(new RaftMessage { Kind = responseKind, From = Id, To = m.From, Term = m.Term });
            if (!isPreVote)
            {
                _electionElapsed = 0;
                Vote = m.From;
            }
        }
        else
        {
            Send(new RaftMessage { Kind = responseKind, From = Id, To = m.From, Term = Term, Reject = true });
        }
    }

    private void StepCandidate(RaftMessage m)
    {
        switch (m.Kind)
        {
            case RaftMessageKind.Append or RaftMessageKind.Heartbeat or RaftMessageKind.Snapshot:
                // A leader exists in our term (for a pre-candidate: in its current term).
                BecomeFollower(m.Term, m.From);
                StepFollower(m);
                break;
            case RaftMessageKind.PreVoteResponse when Role == RaftRole.PreCandidate:
            case RaftMessageKind.VoteResponse when Role == RaftRole.Candidate:
                switch (Poll(m.From, !m.Reject))
                {
                    case VoteOutcome.Won when Role == RaftRole.PreCandidate:
                        StartCampaign(preVote: false, transfer: false);
                        break;
                    case VoteOutcome.Won:
                        BecomeLeader();
                        break;
                    case VoteOutcome.Lost:
                        BecomeFollower(Term, NodeId.None);
                        break;
                }

                break;
        }
    }

    private VoteOutcome Poll(NodeId from, bool granted)
    {
        if (!Membership.IsVoter(from))
        {
            return VoteOutcome.Pending;
        }

        _votes.TryAdd(from, granted);
        var yes = 0;
        var no = 0;
        foreach (var (_, g) in _votes)
        {
            if (g)
            {
                yes++;
            }
            else
            {
                no++;
            }
        }

        var quorum = Membership.Quorum;
        if (yes >= quorum)
        {
            return VoteOutcome.Won;
        }

        return Membership.Voters.Length - no < quorum ? VoteOutcome.Lost : VoteOutcome.Pending;
    }

    private void BecomeFollower(Term term, NodeId leader)
    {
        Reset(term);
        Leader = leader;
        Role = RaftRole.Follower;
    }

    private void BecomePreCandidate()
    {
        RaftInvariantException.ThrowIf(Role == RaftRole.Leader, "leader cannot become pre-candidate");
        // Neither the term nor the vote change: a failed pre-election leaves no trace.
        _votes.Clear();
        Leader = NodeId.None;
        Role = RaftRole.PreCandidate;
    }

    private void BecomeCandidate()
    {
        RaftInvariantException.ThrowIf(Role == RaftRole.Leader, "leader cannot become candidate");
        Reset(Term.Next());
        Vote = Id;
        Role = RaftRole.Candidate;
    }

    private void BecomeLeader()
    {
        RaftInvariantException.ThrowIf(Role != RaftRole.Candidate, $"only a candidate can become leader (was {Role})");
        RaftInvariantException.ThrowIf(Vote != Id, "a leader must have voted for itself");
        Reset(Term);
        Leader = Id;
        Role = RaftRole.Leader;
        var next = _log.LastIndex.Next();
        foreach (var member in Membership.All)
        {
            _progress[member] = new Progress(next, _config.MaxInflightAppends, Membership.IsLearner(member)) { RecentActive = true };
        }

        if (_progress.TryGetValue(Id, out var self))
        {
            self.MaybeUpdate(_log.LastStableIndex);
            self.BecomeReplicate();
        }

        // Thesis §3.6.2/§6.4: an entry of the new term, so earlier entries commit and reads can be served.
        AppendEntry(RaftEntryKind.Normal, []);
        BroadcastAppend();
    }

    private enum VoteOutcome
    {
        Pending,
        Won,
        Lost,
    }
}
