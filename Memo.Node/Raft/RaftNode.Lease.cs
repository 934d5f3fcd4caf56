namespace Memo.Node.Raft;

/// <summary>
/// Lease reads (thesis §6.4.1), on when <see cref="RaftConfig.LeaseReads"/> is set. A quorum that acknowledged a
/// heartbeat sent at time <c>t</c> will not help elect another leader before <c>t + ElectionTicks</c>: with
/// CheckQuorum its voters ignore vote requests while they hear from a leader, and a replica that (re)started
/// ignores them for its first election timeout too (it may have acknowledged a lease before it went down). So
/// until <c>t + </c><see cref="RaftConfig.LeaseTicks"/> the leader answers ReadIndex from its commit index at once,
/// without a heartbeat round. Time is the host's monotonic clock in tick units (<see cref="AdvanceClock"/>), not
/// the tick count: a leader paused past its lease sees its clock jump and stops serving, whereas ticks lost during
/// a pause would have let it believe the lease still held. The lease covers one term and one configuration, and
/// is given up for good in a term once a leadership transfer starts (the transferee campaigns with a vote voters
/// grant whatever their lease, and a delayed TimeoutNow may still arrive after the transfer was abandoned).
/// </summary>
public sealed partial class RaftNode
{
    private const byte LeaseContextMarker = 0xFE;

    private double _now;
    private double _leaseExpires = double.NegativeInfinity;
    private bool _leaseGivenUp;
    private int _membershipEpoch;
    private ulong _leaseRounds;
    private int _ticksSinceStart;
    private int _ticksSinceLeaderHeard = int.MaxValue;
    private double _leaderHeardAt = double.NegativeInfinity;

    /// <summary>
    /// The host's monotonic clock, in ticks (elapsed time divided by the tick interval). Hosts that enable
    /// <see cref="RaftConfig.LeaseReads"/> call it before every <see cref="Tick"/>, <see cref="Step"/> and
    /// <see cref="ReadIndex"/>; a value older than the last one is ignored.
    /// </summary>
    public void AdvanceClock(double nowInTicks)
    {
        if (Faults.HasFlag(RaftFaults.LeaseTimedByTicks))
        {
            return;
        }

        if (nowInTicks > _now)
        {
            _now = nowInTicks;
        }
    }

    /// <summary>True while this leader may answer ReadIndex without a heartbeat round.</summary>
    public bool HoldsReadLease =>
        _config.LeaseReads && Role == RaftRole.Leader && !_leaseGivenUp && _leadTransferee.IsNone
        && CommittedInCurrentTerm && _now < _leaseExpires;

    // A replica that restarted may have acknowledged a lease in its previous life; it does not help a candidate
    // until an election timeout has passed, as if it had just heard from that leader.
    private bool InStartupLease => _config.LeaseReads && _ticksSinceStart < _config.ElectionTicks;

    private void CountStartupTick()
    {
        if (Faults.HasFlag(RaftFaults.LeaseTimedByTicks))
        {
            _now += 1;
        }

        if (_ticksSinceStart < _config.ElectionTicks)
        {
            _ticksSinceStart++;
        }

        if (_ticksSinceLeaderHeard < _config.ElectionTicks)
        {
            _ticksSinceLeaderHeard++;
        }
    }

    // The voter's side of a lease. A replica that heard a leader (and so may have acknowledged one of its lease
    // rounds, sent no later than that) neither grants a vote or pre-vote nor campaigns, in any term, until BOTH an
    // election timeout of its own ticks AND an election timeout of its own clock have passed since then:
    // - Any term: the check on vote requests of a higher term (Step) does not cover a replica that a higher-term
    //   answer (a candidate's rejection of its pre-vote) moved into the candidate's term right after it acknowledged
    //   the leader; it would then grant that candidate's vote in the same term at once (found by the simulator's
    //   lease promise check, seed 187963230962970 of PausedFollower).
    // - Its clock: the ticks count only if the host steps them in the order they passed. A host that steps ticks
    //   queued during a stall after a heartbeat that arrived after them (the replica loop before 311b774) counts up
    //   to its per-turn cap of them after the heartbeat; the clock, read before each Step and Tick, cannot be
    //   reordered that way. The leader's lease is ElectionTicks - 2 - ElectionTicks/10 of ITS clock from the
    //   heartbeat's send, which is no later than when this replica heard it, so a voter whose clock runs at most 10%
    //   fast keeps its promise by the clock alone, whatever order the host steps ticks and messages in.
    // - The ticks as well: a host that never advances the clock (no leases) still gets the tick rule; and a replica
    //   whose clock stalls behind its ticks is held by the ticks.
    // Transfers are exempt (the leader gave its lease up), and the rule only binds with LeaseReads (the clock is
    // only promised then); without it the CheckQuorum rule (a known leader, an election timeout of ticks) stays.
    private bool InVoterLease =>
        _config.LeaseReads
        && (_ticksSinceLeaderHeard < _config.ElectionTicks
            || (!Faults.HasFlag(RaftFaults.VoterLeaseTimedByTicksOnly) && _now < _leaderHeardAt + _config.ElectionTicks));

    private bool LeaseApplies(RaftMessageKind kind) =>
        kind == RaftMessageKind.PreVote ? _config.PreVote || _config.CheckQuorum : _config.CheckQuorum;

    private void HeardLeader()
    {
        _ticksSinceLeaderHeard = 0;
        _leaderHeardAt = _now;
    }

    // Periodic heartbeats carry a lease round when no read round is pending, so a busy leader's lease is renewed
    // in the background and reads almost never wait for a round.
    private byte[]? HeartbeatContext()
    {
        if (_reads.Count > 0)
        {
            return _reads[^1].Context;
        }

        if (!_config.LeaseReads || _leaseGivenUp || !_leadTransferee.IsNone || IsSoleVoter)
        {
            return null;
        }

        var context = new byte[9];
        context[0] = LeaseContextMarker;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(context.AsSpan(1), ++_leaseRounds);
        StartRound(Id, context, Convert.ToBase64String(context), isLease: true);
        return context;
    }

    // A quorum acknowledged a heartbeat sent at sentAt in this term: no other leader before sentAt + ElectionTicks.
    private void ExtendLease(PendingRead confirmed)
    {
        if (_config.LeaseReads && confirmed.Epoch == _membershipEpoch && !_leaseGivenUp)
        {
            _leaseExpires = Math.Max(_leaseExpires, confirmed.SentAt + _config.LeaseTicks);
        }
    }

    private void GiveUpLease()
    {
        _leaseGivenUp = true;
        _leaseExpires = double.NegativeInfinity;
    }

    private void ResetLease()
    {
        _leaseGivenUp = false;
        _leaseExpires = double.NegativeInfinity;
    }

    // Acknowledgements gathered under the old configuration say nothing about the new one's quorums.
    private void ForgetLeaseOnMembershipChange()
    {
        _membershipEpoch++;
        _leaseExpires = double.NegativeInfinity;
    }
}
