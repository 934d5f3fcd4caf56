using System.Buffers.Binary;
using System.Text;
using Memo.Node;
using Memo.Node.Raft;
using Memo.Testing.Linearizability;

namespace Memo.Raft.Tests.Simulation;

/// <summary>
/// A deterministic simulation of one Raft group: N replicas, a network and durable stores, clients writing to and
/// reading from a key-value state machine, all driven by one seeded event queue in one thread. The same seed and
/// options always replay the same run.
/// </summary>
/// <remarks>
/// <para>Model. Time is in simulated milliseconds; a replica ticks every 10 ms, or at its own skewed period (7-14 ms)
/// on some seeds. A replica's host takes a Ready, sends the leader messages the contract allows early, writes the
/// Ready to its durable store after a disk latency, then sends the rest, applies committed entries and advances. A
/// crash discards the replica and anything not yet written; a restart rebuilds it from its store. A pause stops a
/// replica's process: its input queues up and it resumes with a burst of ticks, as the replica actor does. The
/// network delays (1-10 ms, sometimes up to 120 ms, which reorders), drops, duplicates and partitions (both ways or
/// one way) messages. Fault schedules are in <c>Simulation.Faults.cs</c>.</para>
/// <para>Phases. In the safety phase the seed's fault profile runs; in the liveness phase every fault is healed
/// and every crashed replica restarted; after a grace period every operation must complete in time, and each
/// client must have completed a write. Then clients stop and the group quiesces. A <see cref="SafetyMonitor"/>
/// checks every Ready; the host checks that each replica applies entries contiguously and that all replicas hold
/// the same state at the same applied index, and at the end that every replica converged (<c>Simulation.Checks.cs</c>);
/// finally the client history goes through the linearizability checker, whose timeout fails the run.</para>
/// </remarks>
public sealed partial class Simulation
{
    private const long TickMs = 10;

    // The replica actor takes at most this many queued ticks per turn (ShardReplicaCore.MaxTicksPerTurn).
    private const int MaxTicksPerTurn = 3;
    private readonly SimulationOptions _options;
    private readonly ulong _seed;
    private readonly SimRandom _rng;
    private readonly PriorityQueue<Action, (long Time, long Seq)> _queue = new();
    private readonly SortedDictionary<ulong, SimNode> _nodes = [];
    private readonly SafetyMonitor _monitor = new();
    private readonly HistoryRecorder _history = new();
    private readonly HashSet<(ulong From, ulong To)> _cut = [];
    private readonly List<SimClient> _clients = [];
    private readonly List<ConfigChange> _plan = [];
    private readonly FaultProfile _profile;
    private readonly bool _checkQuorum;
    private readonly bool _preVote;
    private readonly bool _leaseReads;
    private readonly int _maxEntriesPerAppend;
    private readonly StringBuilder? _trace;
    private long _now;
    private long _seq;
    private long _events;
    private double _loss;
    private double _duplicate;
    private double _slow;
    private bool _healed;
    private long _strictFrom = long.MaxValue;
    private int _planStep;
    private string? _invariantFailure;
    private string? _livenessFailure;
    private int _succeeded;
    private bool _clientsStopped;
    private HostFaults _hostFaultsFired;

    public Simulation(ulong seed, SimulationOptions options)
    {
        _seed = seed;
        _options = options;
        _rng = new SimRandom(seed * 0x9E3779B97F4A7C15UL + 17);
        _profile = options.Profile != FaultProfile.BySeed
            ? options.Profile
            : DrawnProfiles[(int)(seed % (ulong)DrawnProfiles.Count)];
        _trace = options.Trace ? new StringBuilder() : null;
        // Some seeds run without CheckQuorum or PreVote, so the core is exercised in every mode.
        _checkQuorum = options.CheckQuorum && seed % 7 != 3;
        _preVote = options.PreVote && seed % 11 != 5;
        // Leader leases on some seeds (never with a planted bug, whose seeds were chosen without them). A lease
        // assumes clocks run at rates within its margin, so those seeds' skewed timers only run slow: a timer fires
        // late, never early (the same draw, so the rest of the schedule stays as it was).
        _leaseReads = _checkQuorum && (options.LeaseReads ?? (options.Faults == RaftFaults.None && seed % 5 == 2));
        var voters = options.Voters > 0 ? options.Voters : (seed % 3 == 0 ? 5 : 3);
        _maxEntriesPerAppend = options.MaxEntriesPerAppend > 0 ? options.MaxEntriesPerAppend : _rng.Chance(0.25) ? 1 : 16;
        var total = voters + (options.Reconfigure ? 2 : 0);
        var membership = RaftMembership.Create(Enumerable.Range(1, voters).Select(i => new NodeId((ulong)i)));
        for (var i = 1; i <= total; i++)
        {
            var id = (ulong)i;
            var store = i <= voters ? MemoryRaftLogStore.Bootstrap(membership) : new MemoryRaftLogStore();
            // Each replica's clock runs at its own rate on some seeds; the rate survives restarts (it is the machine's).
            // Not without PreVote: a replica with a stale log and a clock twice as fast then keeps the group leaderless
            // for good, each of its elections raising the term and restarting the others' election timers before they
            // can expire (Raft's disruptive server, which PreVote, always on in production, prevents).
            var tickPeriod = _preVote && _rng.Chance(0.5) ? _rng.Between(7, 14) : TickMs;
            if (_leaseReads)
            {
                tickPeriod = Math.Max(tickPeriod, TickMs);
            }

            _nodes[id] = new SimNode(id, store, tickPeriod);
            if (tickPeriod != TickMs)
            {
                _skewedNodes++;
            }
        }

        if (options.Reconfigure)
        {
            var a = new NodeId((ulong)voters + 1);
            var b = new NodeId((ulong)voters + 2);
            _plan.AddRange([
                new(ConfigChangeKind.AddLearner, a), new(ConfigChangeKind.PromoteLearner, a), new(ConfigChangeKind.Remove, new NodeId(1)),
                new(ConfigChangeKind.AddLearner, b), new(ConfigChangeKind.PromoteLearner, b), new(ConfigChangeKind.Remove, new NodeId(2)),
            ]);
        }

        Description = $"{voters} voters{(options.Reconfigure ? " +reconfigure" : "")}{(_checkQuorum ? "" : " no-checkquorum")}{(_preVote ? "" : " no-prevote")}{(_leaseReads ? " lease-reads" : "")}{(_maxEntriesPerAppend == 1 ? " 1-entry appends" : "")}, {_profile}{(options.Faults != RaftFaults.None ? ", planted " + options.Faults : "")}";
    }

    /// <summary>The profiles <see cref="FaultProfile.BySeed"/> rotates through (seed modulo their count).</summary>
    public static IReadOnlyList<FaultProfile> DrawnProfiles { get; } =
        Enum.GetValues<FaultProfile>().Where(p => p is not (FaultProfile.BySeed or FaultProfile.PausedIsolatedLeader or FaultProfile.PausedFollower)).ToArray();

    public string Description { get; }

    /// <summary>The fault profile of the safety phase.</summary>
    public FaultProfile Profile => _profile;

    /// <summary>The trace, when enabled.</summary>
    public string Trace => _trace?.ToString() ?? "";

    public SimulationResult Run()
    {
        foreach (var node in _nodes.Values)
        {
            Start(node);
        }

        for (var c = 0; c < _options.Clients; c++)
        {
            var client = new SimClient(c);
            _clients.Add(client);
            At(_rng.Between(50, 200), () => ClientNext(client));
        }

        At(_rng.Between(100, 300), FaultStep);
        if (_plan.Count > 0)
        {
            At(300, ReconfigureStep);
        }

        var healAt = _options.SafetyPhaseMs;
        At(healAt, Heal);
        var livenessEnd = healAt + _options.LivenessPhaseMs;
        At(livenessEnd, () => _clientsStopped = true);
        var end = livenessEnd + _options.QuiescePhaseMs;
        while (_queue.TryDequeue(out var action, out var key))
        {
            if (key.Time > end || Failed)
            {
                break;
            }

            _now = key.Time;
            _events++;
            try
            {
                action();
            }
            catch (RaftInvariantException e)
            {
                _invariantFailure = $"at {_now} ms: {e.Message}";
            }
        }

        if (!Failed)
        {
            CheckLivenessAtEnd();
            CheckReplicasConverged();
        }

        var safety = _monitor.Violation ?? _invariantFailure ?? _replicaFailure;
        string? linearizability = null;
        var timedOut = false;
        if (safety is null)
        {
            var result = _options.HistoryChecker(_history.Operations, _options.LinearizabilityBudget);
            timedOut = result.TimedOut;
            if (result.TimedOut)
            {
                linearizability = $"linearizability check timed out (budget {_options.LinearizabilityBudget.TotalSeconds:F1} s; an unchecked history proves nothing): {result.Explanation}";
            }
            else if (!result.IsLinearizable)
            {
                linearizability = $"history not linearizable (key {result.Key}): {result.Explanation}";
            }
        }

        return new SimulationResult(
            _seed,
            Description,
            _profile,
            safety,
            safety is null && linearizability is null ? _livenessFailure : null,
            linearizability,
            timedOut,
            _history.Operations.Count,
            _succeeded,
            _nodes.Values.Max(n => n.Store.HardState.Term.Value),
            _monitor.MaxCommitted.Value,
            _events,
            _faults with { SkewedNodes = _skewedNodes });
    }

    private bool Failed => _monitor.Violation is not null || _invariantFailure is not null || _replicaFailure is not null;

    private void At(long time, Action action) => _queue.Enqueue(action, (time, _seq++));

    private void Log(string s) => _trace?.Append(_now).Append(' ').Append(s).Append('\n');

    // ---------------------------------------------------------------- replicas

    private void Start(SimNode node)
    {
        var config = new RaftConfig
        {
            Id = new NodeId(node.Id),
            ElectionTicks = 10,
            HeartbeatTicks = 2,
            CheckQuorum = _checkQuorum,
            PreVote = _preVote,
            LeaseReads = _leaseReads,
            MaxInflightAppends = 8,
            MaxEntriesPerAppend = _maxEntriesPerAppend,
            RandomSeed = _seed * 31 + (ulong)node.Incarnation,
            Faults = _options.Faults,
        };
        node.Core = new RaftNode(config, node.Store);
        node.State = KvCommand.Deserialize(node.Store.Snapshot.Data);
        node.Applied = node.Store.Snapshot.Index;
        node.Persisting = false;
        node.PausedUntil = 0;
        node.QueuedTicks = 0;
        node.PausedInputs = null;
        _monitor.OnRestart(config.Id);
        RecordAppliedState(node);
        var incarnation = node.Incarnation;
        At(_now + _rng.Between(1, node.TickPeriodMs), () => TickLoop(node, incarnation));
        Log($"start {node.Id} {node.Core.Status}");
    }

    // Every replica reads the same true time, in nominal ticks (the host's monotonic clock over its tick interval).
    private void AdvanceClock(RaftNode core) => core.AdvanceClock(_now / (double)TickMs);

    // The host's timer fires on its own phase whatever the replica actor is doing; a tick that fires while the
    // replica is paused is queued for the turn that resumes it (ResumeTurn), as ShardGroupReplica's pending ticks are.
    private void TickLoop(SimNode node, int incarnation)
    {
        if (node.Incarnation != incarnation || node.Core is null)
        {
            return;
        }

        At(_now + node.TickPeriodMs, () => TickLoop(node, incarnation));
        node.QueuedTicks++;
        if (node.PausedUntil > _now)
        {
            EnsureResumeTurn(node);
            return;
        }

        TakeTicks(node);
    }

    // The replica actor takes at most MaxTicksPerTurn queued ticks at once (a stall must not look like a long silence).
    private void TakeTicks(SimNode node)
    {
        if (node.Core is not { } core || node.QueuedTicks == 0)
        {
            return;
        }

        var ticks = Math.Min(node.QueuedTicks, MaxTicksPerTurn);
        node.QueuedTicks = 0;
        var (roleBefore, termBefore) = (core.Role, core.Term);
        AdvanceClock(core);
        for (var i = 0; i < ticks; i++)
        {
            core.Tick();
        }

        CheckCampaign(node, core, roleBefore, termBefore);

        ObserveLeader(node);
        Pump(node);
    }

    private void Crash(SimNode node)
    {
        if (node.Core is null)
        {
            return;
        }

        Log($"crash {node.Id}");
        _faults = _faults with { Crashes = _faults.Crashes + 1 };
        node.Core = null;
        node.Incarnation++;
        node.Persisting = false;
        node.PausedUntil = 0;
        node.QueuedTicks = 0;
        node.PausedInputs = null;
        node.ArmedCrash = null;
        node.PendingWrites.Clear();
        node.PendingReads.Clear();
        node.ReadsAwaitingApply.Clear();
    }

    private void Pump(SimNode node)
    {
        var core = node.Core;
        if (core is null || node.Persisting || !core.HasReady)
        {
            return;
        }

        var ready = core.GetReady();
        _monitor.OnReady(core, ready);
        if (_trace is not null && ready.HardState is { } hardState && hardState.Term != node.Store.HardState.Term)
        {
            Log($"{node.Id} {ready.Role} {hardState}");
        }

        foreach (var m in ready.MessagesBeforePersistence)
        {
            SendMessage(m);
        }

        node.Persisting = true;
        var incarnation = node.Incarnation;
        At(_now + (ready.MustPersist ? _rng.Between(1, 4) : 0), () => CompletePersist(node, incarnation, ready));
    }

    private void CompletePersist(SimNode node, int incarnation, Ready ready)
    {
        if (node.Incarnation != incarnation || node.Core is not { } core || DeferWhilePaused(node, () => CompletePersist(node, incarnation, ready)))
        {
            return;
        }

        if (ready.MustPersist && node.ArmedCrash is { } point)
        {
            CrashMidPersist(node, ready, point);
            return;
        }

        node.Store.Save(ready);
        foreach (var m in ready.MessagesAfterPersistence)
        {
            SendMessage(m);
        }

        MaybeCrashAfterVoting(node, ready);

        if (ready.Snapshot is { } snapshot)
        {
            CheckSnapshotInstall(node, snapshot.Index);
            node.State = KvCommand.Deserialize(snapshot.Data);
            node.Applied = snapshot.Index;
            RecordAppliedState(node);
            foreach (var index in node.PendingWrites.Keys.Where(i => i <= snapshot.Index).ToList())
            {
                // The entry's fate is not visible in a snapshot: the operation stays unknown.
                node.PendingWrites.Remove(index);
            }
        }

        foreach (var entry in ready.CommittedEntries)
        {
            Apply(node, entry);
        }

        foreach (var readState in ready.ReadStates)
        {
            var key = Convert.ToBase64String(readState.Context);
            if (node.PendingReads.Remove(key, out var read))
            {
                node.ReadsAwaitingApply.Add((readState.Index, read.OperationId, read.Client, read.Key));
            }
        }

        ServeReads(node);
        core.Advance(ready);
        node.Persisting = false;
        ObserveLeader(node);
        MaybeSnapshot(node, core);
        Pump(node);
    }

    private void Apply(SimNode node, RaftEntry entry)
    {
        CheckApplyOrder(node, entry.Index);
        node.Applied = entry.Index;
        var hasPending = node.PendingWrites.Remove(entry.Index, out var pending);
        if (entry.Kind != RaftEntryKind.Normal || entry.Data.Length == 0)
        {
            RecordAppliedState(node);
            if (hasPending)
            {
                Complete(pending.Client, pending.OperationId, ok: false);
            }

            return;
        }

        var command = KvCommand.Decode(entry.Data);
        if (PlantedHostFault(node, HostFaults.MisapplyAWrite, entry.Index.Value >= 3 && command.Value is not null))
        {
            command = command with { Value = command.Value + "!" };
        }

        var applied = command.ApplyTo(node.State);
        RecordAppliedState(node);
        if (PlantedHostFault(node, HostFaults.ReapplyAnEntry, entry.Index.Value >= 5))
        {
            Apply(node, entry);
        }

        if (hasPending)
        {
            if (pending.Term == entry.Term && pending.OperationId == command.OperationId)
            {
                Complete(pending.Client, pending.OperationId, ok: true, applied: applied);
            }
            else
            {
                // Another entry was committed at the index our proposal had: it can never commit.
                Complete(pending.Client, pending.OperationId, ok: false);
            }
        }
    }

    // Fires once per run, on replica 2, the first time the condition holds.
    private bool PlantedHostFault(SimNode node, HostFaults fault, bool when)
    {
        if (!_options.HostFaults.HasFlag(fault) || node.Id != 2 || !when || _hostFaultsFired.HasFlag(fault))
        {
            return false;
        }

        _hostFaultsFired |= fault;
        return true;
    }

    private void ServeReads(SimNode node)
    {
        for (var i = node.ReadsAwaitingApply.Count - 1; i >= 0; i--)
        {
            var (index, operationId, client, key) = node.ReadsAwaitingApply[i];
            if (node.Applied >= index)
            {
                node.ReadsAwaitingApply.RemoveAt(i);
                Complete(client, operationId, ok: true, readValue: node.State.GetValueOrDefault(key));
            }
        }
    }

    private void MaybeSnapshot(SimNode node, RaftNode core)
    {
        // As the node's host does: also when the configuration moved past the snapshot's, so leaders can send new members a snapshot.
        if ((node.Applied.Value < node.Store.Snapshot.Index.Value + (ulong)_options.SnapshotEvery && !core.SnapshotIsBehindConfiguration)
            || node.Applied > core.AppliedIndex)
        {
            return;
        }

        if (core.SnapshotMetadataAt(node.Applied) is not { } metadata)
        {
            return;
        }

        var keep = (ulong)_rng.Next(8);
        var compactThrough = new LogIndex(node.Applied.Value > keep ? node.Applied.Value - keep : 0);
        node.Store.CreateSnapshot(new RaftSnapshot(metadata, KvCommand.Serialize(node.State)), LogIndex.Max(compactThrough, node.Store.FirstIndex.Previous()));
        Log($"snapshot {node.Id} at {metadata}");
    }

    // ---------------------------------------------------------------- network

    private void SendMessage(RaftMessage m)
    {
        if (_cut.Contains((m.From.Value, m.To.Value)) || _rng.Chance(_loss))
        {
            return;
        }

        var copies = _rng.Chance(_duplicate) ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            var delay = _rng.Chance(_slow) ? _rng.Between(20, 120) : _rng.Between(1, 10);
            var sentAt = _now;
            At(_now + delay, () => Deliver(m, sentAt));
        }
    }

    private void Deliver(RaftMessage m, long sentAt)
    {
        var node = _nodes[m.To.Value];
        if (node.Core is not { } core || _cut.Contains((m.From.Value, m.To.Value)) || DeferWhilePaused(node, () => Deliver(m, sentAt)))
        {
            return;
        }

        // The host's input filter (ShardGroupReplica does the same): the simulator has no placement, so only the
        // replica's own knowledge decides, which is what a replica with a stale configuration must survive on.
        if (core.Admit(m) == RaftAdmission.Refused)
        {
            Log($"{node.Id} refused {m}");
            return;
        }

        AdvanceClock(core);
        var inPromise = VoteRequestInPromise(node, m);
        var outboxBefore = core.Outbox.Count;
        if (_trace is not null && m.Kind is RaftMessageKind.Vote or RaftMessageKind.PreVote or RaftMessageKind.TimeoutNow)
        {
            Log($"{node.Id} steps {m} as {core.Role} of leader {core.Leader.Value}");
        }

        core.Step(m);
        if (inPromise)
        {
            CheckGrant(node, core, outboxBefore, m);
        }

        NoteHeartbeat(node, core, m, sentAt);
        ObserveLeader(node);
        Pump(node);
    }

    private RaftNode? CurrentLeader() =>
        _nodes.Values.Select(n => n.Core).Where(c => c is { Role: RaftRole.Leader }).OrderByDescending(c => c!.Term).FirstOrDefault();

    // ---------------------------------------------------------------- membership plan

    private void ReconfigureStep()
    {
        if (_planStep >= _plan.Count || Failed)
        {
            return;
        }

        At(_now + 100, ReconfigureStep);
        var leader = CurrentLeader();
        if (leader is null)
        {
            return;
        }

        var step = _plan[_planStep];
        var membership = leader.Membership;
        var reflected = step.Kind switch
        {
            ConfigChangeKind.AddLearner => membership.Contains(step.Node),
            ConfigChangeKind.PromoteLearner => membership.IsVoter(step.Node),
            _ => !membership.Contains(step.Node),
        };
        if (reflected)
        {
            if (leader.HasPendingConfigChange)
            {
                return;
            }

            Log($"reconfigure: {step} committed, now {membership}");
            if (step.Kind == ConfigChangeKind.Remove)
            {
                // A removed replica leaves the group for good, as a node that left the ring would.
                var removed = _nodes[step.Node.Value];
                removed.Decommissioned = true;
                Crash(removed);
            }

            _planStep++;
            if (_healed)
            {
                // Removing the leader costs an election; strict liveness starts once reconfiguration is over.
                _strictFrom = Math.Max(_strictFrom, _now + _options.LivenessGraceMs);
            }

            return;
        }

        if (step.Kind == ConfigChangeKind.PromoteLearner)
        {
            var progress = leader.Status.Progress.GetValueOrDefault(step.Node);
            if (progress is null || progress.Match.Value + 5 < leader.CommitIndex.Value)
            {
                return;
            }
        }

        var result = leader.ProposeConfigChange(step);
        Log($"reconfigure: propose {step} at {leader.Id.Value}: {result}");
        Pump(_nodes[leader.Id.Value]);
    }

    // ---------------------------------------------------------------- clients

    private void ClientNext(SimClient client)
    {
        if (Failed || _clientsStopped)
        {
            return;
        }

        var candidates = _nodes.Values.Where(n => !n.Decommissioned).ToList();
        var target = client.LeaderHint != 0 && _nodes.TryGetValue(client.LeaderHint, out var hinted) && !hinted.Decommissioned && _rng.Chance(0.8)
            ? hinted
            : _rng.Pick(candidates);
        var key = "k" + _rng.Next(_options.Keys);
        var roll = _rng.Next(100);
        var kind = roll switch
        {
            < 40 => KvOperationKind.Read,
            < 70 => KvOperationKind.Upsert,
            < 80 => KvOperationKind.Insert,
            < 90 => KvOperationKind.Update,
            _ => KvOperationKind.Delete,
        };
        var value = kind is KvOperationKind.Read or KvOperationKind.Delete ? null : $"c{client.Id}.{client.Sequence++}";
        var operationId = _history.Invoke(client.Id, key, kind, value);
        client.Outstanding = operationId;
        client.Kind = kind;
        client.InvokedAt = _now;
        At(_now + _options.OperationTimeoutMs, () => ClientTimeout(client, operationId, target));
        Submit(client, target, operationId, kind, key, value);
    }

    /// <summary>The request reaches the replica (a paused one handles it when it resumes).</summary>
    private void Submit(SimClient client, SimNode target, int operationId, KvOperationKind kind, string key, string? value)
    {
        if (DeferWhilePaused(target, () => Submit(client, target, operationId, kind, key, value)))
        {
            return;
        }

        if (client.Outstanding != operationId)
        {
            // The client gave up while the request waited in a paused replica's queue; a real call would have
            // been cancelled with it.
            return;
        }

        if (target.Core is not { } core)
        {
            Complete(client.Id, operationId, ok: false);
            return;
        }

        ProposeResult result;
        if (kind == KvOperationKind.Read)
        {
            var context = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(context, operationId);
            AdvanceClock(core);
            result = core.ReadIndex(context);
            if (result.IsAccepted)
            {
                target.PendingReads[Convert.ToBase64String(context)] = (operationId, client.Id, key);
            }
        }
        else
        {
            result = core.Propose(new KvCommand(kind, key, value, operationId).Encode());
            if (result.IsAccepted)
            {
                target.PendingWrites[result.Index] = (result.Term, operationId, client.Id);
            }
        }

        if (!result.IsAccepted)
        {
            if (!result.LeaderHint.IsNone)
            {
                client.LeaderHint = result.LeaderHint.Value;
            }
            else if (result.Outcome == ProposeOutcome.NotLeader)
            {
                client.LeaderHint = 0;
            }

            Complete(client.Id, operationId, ok: false);
            return;
        }

        client.LeaderHint = target.Id;
        Pump(target);
    }

    private void ClientTimeout(SimClient client, int operationId, SimNode target)
    {
        if (client.Outstanding != operationId)
        {
            return;
        }

        if (_healed && client.InvokedAt >= _strictFrom && _livenessFailure is null)
        {
            _livenessFailure = $"liveness: {client.Kind} operation {operationId} of client {client.Id} invoked at {client.InvokedAt} ms (after heal + grace) at node {target.Id} not answered within {_options.OperationTimeoutMs} ms; replicas: "
                + string.Join(" | ", _nodes.Values.Select(n => n.Core?.Status.ToString() ?? $"{n.Id} down{(n.Decommissioned ? " (removed)" : "")}"));
        }

        // Abandoned: a read had no effect; a write's outcome stays unknown to the checker.
        foreach (var key in target.PendingWrites.Where(p => p.Value.OperationId == operationId).Select(p => p.Key).ToList())
        {
            target.PendingWrites.Remove(key);
        }

        foreach (var key in target.PendingReads.Where(p => p.Value.OperationId == operationId).Select(p => p.Key).ToList())
        {
            target.PendingReads.Remove(key);
        }

        target.ReadsAwaitingApply.RemoveAll(r => r.OperationId == operationId);
        if (client.Kind == KvOperationKind.Read)
        {
            _history.Fail(operationId);
        }

        client.Outstanding = null;
        client.LeaderHint = 0;
        At(_now + 1, () => ClientNext(_clients[client.Id]));
    }

    private void Complete(int clientId, int operationId, bool ok, string? readValue = null, bool applied = true)
    {
        var client = _clients[clientId];
        if (client.Outstanding != operationId)
        {
            return;
        }

        if (ok)
        {
            _history.Ok(operationId, readValue, applied);
            _succeeded++;
            if (_healed && client.Kind != KvOperationKind.Read)
            {
                client.WritesAfterHeal++;
            }
        }
        else
        {
            _history.Fail(operationId);
        }

        client.Outstanding = null;
        At(_now + _rng.Between(ok ? 1 : 5, ok ? 30 : 40), () => ClientNext(client));
    }

    private void CheckLivenessAtEnd()
    {
        if (_livenessFailure is not null)
        {
            return;
        }

        foreach (var client in _clients)
        {
            if (client.WritesAfterHeal == 0)
            {
                _livenessFailure = $"liveness: client {client.Id} completed no write in the liveness phase";
                return;
            }
        }

        if (_planStep < _plan.Count)
        {
            _livenessFailure = $"liveness: membership plan stuck at step {_planStep} ({_plan[_planStep]})";
        }
    }

    private sealed class SimNode(ulong id, MemoryRaftLogStore store, long tickPeriodMs)
    {
        public ulong Id { get; } = id;

        public MemoryRaftLogStore Store { get; } = store;

        /// <summary>Simulated milliseconds between this replica's ticks (its clock rate).</summary>
        public long TickPeriodMs { get; } = tickPeriodMs;

        /// <summary>Ticks the timer fired that the replica has not taken yet (while it is paused).</summary>
        public int QueuedTicks { get; set; }

        /// <summary>While paused: its input (messages, requests, its own persistence), in arrival order, for the turn that resumes it.</summary>
        public List<Action>? PausedInputs { get; set; }

        /// <summary>The latest heartbeat this replica acknowledged as a follower: its leader's term and when it was sent.</summary>
        public (Term Term, long SentAt)? AcknowledgedHeartbeat { get; set; }

        /// <summary>Under <see cref="FaultProfile.PausedFollower"/>: when the pause ends, this leader's messages stop reaching it.</summary>
        public ulong? CutFromOnResume { get; set; }

        /// <summary>The last term this replica was seen leading.</summary>
        public Term LeaderOf { get; set; }

        /// <summary>The highest commit index this replica was seen holding as a leader.</summary>
        public LogIndex LeaderCommitSeen { get; set; }

        /// <summary>While later than now, the replica's process is stopped.</summary>
        public long PausedUntil { get; set; }

        /// <summary>Set: the replica crashes at this point of its next Ready that must be persisted.</summary>
        public PersistCrashPoint? ArmedCrash { get; set; }

        public RaftNode? Core { get; set; }

        public int Incarnation { get; set; }

        public bool Persisting { get; set; }

        public bool Decommissioned { get; set; }

        public Dictionary<string, string> State { get; set; } = [];

        public LogIndex Applied { get; set; }

        public Dictionary<LogIndex, (Term Term, int OperationId, int Client)> PendingWrites { get; } = [];

        public Dictionary<string, (int OperationId, int Client, string Key)> PendingReads { get; } = [];

        public List<(LogIndex Index, int OperationId, int Client, string Key)> ReadsAwaitingApply { get; } = [];
    }

    private sealed class SimClient(int id)
    {
        public int Id { get; } = id;

        public int? Outstanding { get; set; }

        public KvOperationKind Kind { get; set; }

        public long InvokedAt { get; set; }

        public ulong LeaderHint { get; set; }

        public int Sequence { get; set; }

        public int WritesAfterHeal { get; set; }
    }
}
