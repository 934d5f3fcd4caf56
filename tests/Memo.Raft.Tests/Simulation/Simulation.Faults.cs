using Memo.Node.Raft;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// The fault schedule of the safety phase and the healing that starts the liveness phase.
/// </summary>
/// <remarks>
/// <para>Crashes at a Ready's persistence boundaries (<see cref="FaultProfile.CrashMidPersist"/>). The Ready contract
/// asks for one atomic write, and the silo gives one: a Ready's entries, hard state, snapshot and applied writes go in
/// ONE batch (<c>ShardGroupReplica.StageAndCommitAsync</c>). So the real boundaries are before that batch is durable
/// (<see cref="PersistCrashPoint.BeforeWrite"/>) and after it, before the after-persistence messages are sent and
/// anything is applied (<see cref="PersistCrashPoint.AfterWrite"/>). The torn write
/// (<see cref="PersistCrashPoint.TornWrite"/>: the snapshot and a prefix of the entries durable, the hard state not)
/// is outside the contract; it is kept as a margin, since a store that writes entries and hard state as separate
/// records (a WAL) would produce it.</para>
/// <para>Some faults react to what replicas do rather than to the clock, so they land where a decision is freshest.
/// Leader churn (<see cref="FaultProfile.LeaderChurn"/>): a new leader is cut off within its first round trips
/// (p = 0.7), and a leader the moment its commit index advances (p = 0.5 per advance), over a lossy network; this is
/// where commit-rule bugs (Figure 8) show. Crash storms (<see cref="FaultProfile.CrashStorm"/>): a voter dies right
/// after sending a granted vote (p = 0.7) and restarts within 20 ms; this is where vote-persistence bugs show.</para>
/// </remarks>
public sealed partial class Simulation
{
    private FaultCounts _faults = FaultCounts.None;
    private int _skewedNodes;

    private void FaultStep()
    {
        if (_healed)
        {
            return;
        }

        var up = _nodes.Values.Where(n => n.Core is not null && !n.Decommissioned).ToList();
        var leader = CurrentLeader();
        var crashes = _profile is FaultProfile.Crashes or FaultProfile.Everything or FaultProfile.CrashStorm;
        var partitions = _profile is FaultProfile.Partitions or FaultProfile.Everything;
        var lossy = _profile is FaultProfile.LossAndReordering or FaultProfile.Everything or FaultProfile.CrashStorm;
        var pauses = _profile is FaultProfile.Pauses or FaultProfile.Everything;
        var persistCrashes = _profile is FaultProfile.CrashMidPersist or FaultProfile.Everything;
        var roll = _rng.Next(100);
        if (_profile == FaultProfile.LeaderChurn)
        {
            LeaderChurnStep(leader, roll);
            return;
        }

        if (_profile == FaultProfile.PausedIsolatedLeader)
        {
            PausedIsolatedLeaderStep(leader, roll);
            return;
        }

        if (_profile == FaultProfile.PausedFollower)
        {
            PausedFollowerStep(leader, up);
            return;
        }

        if (partitions && roll < 40)
        {
            Partition(leader);
        }
        else if (partitions && roll < 60)
        {
            Log("heal partitions");
            _cut.Clear();
        }
        else if (crashes && roll < (_profile == FaultProfile.CrashStorm ? 90 : 70) && up.Count > 0)
        {
            var victim = PickVictim(up, leader);
            Crash(victim);
            ScheduleRestart(victim, _profile == FaultProfile.CrashStorm ? _rng.Between(1, 30) : _rng.Between(20, 400));
        }
        else if (pauses && roll < (_profile == FaultProfile.Pauses ? 60 : 80) && up.Count > 0)
        {
            Pause(PickVictim(up, leader));
        }
        else if (persistCrashes && roll < (_profile == FaultProfile.CrashMidPersist ? 70 : 90) && up.Count > 0)
        {
            var victim = PickVictim(up, leader);
            victim.ArmedCrash = _rng.Pick([PersistCrashPoint.BeforeWrite, PersistCrashPoint.TornWrite, PersistCrashPoint.AfterWrite]);
            Log($"arm {victim.Id}: crash {victim.ArmedCrash} of its next persisted Ready");
        }

        if (lossy && _rng.Chance(0.3))
        {
            _loss = _rng.Pick([0.0, 0.05, 0.15, 0.3]);
            _duplicate = _rng.Pick([0.0, 0.05, 0.2]);
            _slow = _rng.Pick([0.0, 0.1, 0.3]);
            Log($"network loss={_loss} dup={_duplicate} slow={_slow}");
        }

        var next = _profile is FaultProfile.CrashStorm or FaultProfile.CrashMidPersist ? _rng.Between(20, 120) : _rng.Between(100, 400);
        At(_now + next, FaultStep);
    }

    /// <summary>Checks the replica's role with the monitor; under <see cref="FaultProfile.LeaderChurn"/>, a new leader may die young.</summary>
    private void ObserveLeader(SimNode node)
    {
        if (node.Core is not { } core)
        {
            return;
        }

        _monitor.ObserveLeader(core);
        if (core.Role != RaftRole.Leader)
        {
            return;
        }

        if (core.CommitIndex > node.LeaderCommitSeen)
        {
            node.LeaderCommitSeen = core.CommitIndex;
            if (_profile == FaultProfile.LeaderChurn && !_healed && _rng.Chance(0.5))
            {
                // Cut off the moment it advanced its commit index: what it decided must survive without it.
                Isolate(node.Id);
            }
        }

        if (node.LeaderOf == core.Term)
        {
            return;
        }

        node.LeaderOf = core.Term;
        if (_profile == FaultProfile.LeaderChurn && !_healed && _rng.Chance(0.7))
        {
            // Cut off in its first round trips: its own entries stay on it alone (a tail of its term), and the
            // earlier terms' entries it was spreading may have reached a majority or not.
            var term = core.Term;
            var incarnation = node.Incarnation;
            At(_now + _rng.Between(1, 40), () =>
            {
                if (node.Incarnation == incarnation && node.Core is { Role: RaftRole.Leader } c && c.Term == term && !_healed)
                {
                    Isolate(node.Id);
                }
            });
        }
    }

    private void Isolate(ulong id)
    {
        _cut.Clear();
        foreach (var other in _nodes.Keys.Where(o => o != id))
        {
            _cut.Add((id, other));
            _cut.Add((other, id));
        }

        _faults = _faults with { Partitions = _faults.Partitions + 1 };
        Log($"isolate {id}");
    }

    private void PausedIsolatedLeaderStep(RaftNode? leader, int roll)
    {
        var next = _rng.Between(100, 300);
        if (leader is not null && roll < 60 && _nodes[leader.Id.Value] is { } victim && victim.PausedUntil <= _now)
        {
            Isolate(victim.Id);
            Pause(victim);
            // Still cut off for a while after it resumes, so only its own clock can tell it the lease is gone.
            next = victim.PausedUntil - _now + _rng.Between(50, 200);
        }
        else
        {
            Log("heal partitions");
            _cut.Clear();
        }

        At(_now + next, FaultStep);
    }

    private void LeaderChurnStep(RaftNode? leader, int roll)
    {
        if (roll < 10)
        {
            Log("heal partitions");
            _cut.Clear();
        }
        else if (leader is not null && roll < 40)
        {
            var victim = _nodes[leader.Id.Value];
            Crash(victim);
            ScheduleRestart(victim, _rng.Between(30, 300));
        }

        if (_rng.Chance(0.3))
        {
            _loss = _rng.Pick([0.0, 0.05, 0.15]);
            _duplicate = _rng.Pick([0.0, 0.05]);
            _slow = _rng.Pick([0.0, 0.1, 0.3]);
            Log($"network loss={_loss} dup={_duplicate} slow={_slow}");
        }

        At(_now + _rng.Between(20, 120), FaultStep);
    }

    /// <summary>
    /// Under <see cref="FaultProfile.CrashStorm"/>, a replica that just granted a vote may die right after sending it
    /// and come back at once: whatever it promised must have been durable.
    /// </summary>
    private void MaybeCrashAfterVoting(SimNode node, Ready ready)
    {
        if (_profile != FaultProfile.CrashStorm || _healed
            || !ready.MessagesAfterPersistence.Any(m => m.Kind == RaftMessageKind.VoteResponse && !m.Reject) || !_rng.Chance(0.7))
        {
            return;
        }

        var incarnation = node.Incarnation;
        At(_now, () =>
        {
            if (node.Incarnation == incarnation && node.Core is not null && !_healed)
            {
                Crash(node);
                ScheduleRestart(node, _rng.Between(1, 20));
            }
        });
    }

    // The leader half the time: most interesting faults hit it.
    private SimNode PickVictim(List<SimNode> up, RaftNode? leader) =>
        leader is not null && _rng.Chance(0.5) ? _nodes[leader.Id.Value] : _rng.Pick(up);

    private void ScheduleRestart(SimNode victim, long downFor) =>
        At(_now + downFor, () =>
        {
            if (victim.Core is null && !victim.Decommissioned && !_healed)
            {
                Start(victim);
            }
        });

    /// <summary>Stops the replica's process for longer than an election timeout, sometimes several.</summary>
    private void Pause(SimNode victim)
    {
        if (victim.PausedUntil > _now)
        {
            return;
        }

        var pauseFor = _rng.Between(30, 500);
        victim.PausedUntil = _now + pauseFor;
        _faults = _faults with { Pauses = _faults.Pauses + 1 };
        Log($"pause {victim.Id} for {pauseFor} ms");
    }

    /// <summary>
    /// True when the replica is paused: <paramref name="action"/> (input for it, or its own work) then runs in the
    /// turn that resumes it, in the order it arrived.
    /// </summary>
    private bool DeferWhilePaused(SimNode node, Action action)
    {
        if (node.PausedUntil <= _now)
        {
            return false;
        }

        EnsureResumeTurn(node);
        node.PausedInputs!.Add(action);
        return true;
    }

    private void EnsureResumeTurn(SimNode node)
    {
        if (node.PausedInputs is not null)
        {
            return;
        }

        var inputs = node.PausedInputs = [];
        At(node.PausedUntil, () => ResumeTurn(node, inputs));
    }

    /// <summary>
    /// The replica actor's first turn after a pause (ShardReplicaCore.cs, a turn after a commit): it takes the ticks its timer queued
    /// meanwhile, then its queued input. Ticks first: they passed before that input was read, so a leader's heartbeat
    /// found in the queue must not be followed by ticks that passed before it, which would shorten the voter's
    /// election timeout into the leader's lease margin. <see cref="HostFaults.InputsBeforeTicks"/> plants the other order.
    /// </summary>
    private void ResumeTurn(SimNode node, List<Action> inputs)
    {
        if (!ReferenceEquals(node.PausedInputs, inputs))
        {
            return; // crashed meanwhile: what it had queued died with it
        }

        node.PausedInputs = null;
        var inputsFirst = _options.HostFaults.HasFlag(HostFaults.InputsBeforeTicks);
        if (!inputsFirst)
        {
            TakeTicks(node);
        }

        foreach (var input in inputs)
        {
            input();
        }

        if (inputsFirst)
        {
            TakeTicks(node);
        }

        if (node.CutFromOnResume is { } leader && !_healed)
        {
            // The leader's messages stop reaching it from now on (its acknowledgements still reach the leader).
            node.CutFromOnResume = null;
            _cut.Add((leader, node.Id));
            Log($"cut {leader} -> {node.Id}");
        }
    }

    /// <summary>
    /// Under <see cref="FaultProfile.PausedFollower"/>: the other followers are cut off from the leader (they campaign),
    /// one follower stalls for 30-90 ms while heartbeats and ticks queue up, and from the moment it resumes the leader's
    /// messages no longer reach it. The leader's lease then rests on that follower's acknowledgement of the heartbeats
    /// it found when it resumed, and on its election timer counted from them.
    /// </summary>
    private void PausedFollowerStep(RaftNode? leader, List<SimNode> up)
    {
        var next = _rng.Between(150, 300);
        var followers = leader is null ? [] : up.Where(n => n.Id != leader.Id.Value && n.PausedUntil <= _now).ToList();
        if (leader is not null && followers.Count > 0 && _rng.Chance(0.8))
        {
            _cut.Clear();
            var victim = _rng.Pick(followers);
            foreach (var other in up.Where(n => n.Id != leader.Id.Value && n.Id != victim.Id))
            {
                _cut.Add((leader.Id.Value, other.Id));
                _cut.Add((other.Id, leader.Id.Value));
            }

            var pauseFor = _rng.Between(30, 90);
            victim.PausedUntil = _now + pauseFor;
            victim.CutFromOnResume = leader.Id.Value;
            _faults = _faults with { Pauses = _faults.Pauses + 1, Partitions = _faults.Partitions + 1 };
            Log($"cut {leader.Id.Value} from every follower but {victim.Id}; pause {victim.Id} for {pauseFor} ms");
            next = pauseFor + _rng.Between(100, 250);
        }
        else
        {
            Log("heal partitions");
            _cut.Clear();
        }

        At(_now + next, FaultStep);
    }

    /// <summary>The armed replica dies at <paramref name="point"/> of persisting <paramref name="ready"/>.</summary>
    private void CrashMidPersist(SimNode node, Ready ready, PersistCrashPoint point)
    {
        switch (point)
        {
            case PersistCrashPoint.BeforeWrite:
                _faults = _faults with { CrashesBeforeWrite = _faults.CrashesBeforeWrite + 1 };
                break;
            case PersistCrashPoint.TornWrite:
                // Contract order: snapshot, entries, hard state. Half the time every entry made it and only the hard
                // state is lost; otherwise a prefix of the entries.
                if (ready.Snapshot is { } snapshot)
                {
                    node.Store.ApplySnapshot(snapshot);
                }

                var kept = _rng.Chance(0.5) ? ready.Entries.Count : (int)_rng.Between(0, ready.Entries.Count);
                node.Store.Append(ready.Entries.Take(kept).ToList());
                _faults = _faults with { TornWrites = _faults.TornWrites + 1 };
                Log($"torn write at {node.Id}: {kept}/{ready.Entries.Count} entries, no hard state");
                break;
            case PersistCrashPoint.AfterWrite:
                node.Store.Save(ready);
                _faults = _faults with { CrashesAfterWrite = _faults.CrashesAfterWrite + 1 };
                break;
        }

        Crash(node);
        ScheduleRestart(node, _rng.Between(1, 60));
    }

    private void Partition(RaftNode? leader)
    {
        _cut.Clear();
        var ids = _nodes.Keys.ToList();
        var side = new HashSet<ulong>();
        if (leader is not null && _rng.Chance(0.6))
        {
            // Isolate the leader, maybe with one companion: the deposed-leader cases.
            side.Add(leader.Id.Value);
            if (_rng.Chance(0.3))
            {
                side.Add(_rng.Pick(ids));
            }
        }
        else
        {
            foreach (var id in ids)
            {
                if (_rng.Chance(0.5))
                {
                    side.Add(id);
                }
            }
        }

        var oneWay = _rng.Chance(0.25);
        foreach (var a in side)
        {
            foreach (var b in ids.Where(i => !side.Contains(i)))
            {
                _cut.Add((a, b));
                if (!oneWay)
                {
                    _cut.Add((b, a));
                }
            }
        }

        _faults = _faults with { Partitions = _faults.Partitions + 1 };
        Log($"partition {{{string.Join(",", side)}}} {(oneWay ? "one-way" : "both ways")}");
    }

    private void Heal()
    {
        Log("heal: liveness phase");
        _healed = true;
        _cut.Clear();
        _loss = 0;
        _duplicate = 0;
        _slow = 0;
        foreach (var node in _nodes.Values)
        {
            // Pauses end on their own (at most 500 ms, inside the grace period); clock skew stays: it is hardware.
            node.ArmedCrash = null;
            if (node.Core is null && !node.Decommissioned)
            {
                Start(node);
            }
        }

        _strictFrom = _now + _options.LivenessGraceMs;
    }
}
