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
