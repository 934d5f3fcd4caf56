using System.Buffers.Binary;
using Google.Protobuf;
using Memo.Node.Metrics;
using Memo.Node.Raft;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Node.Transport;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// What one loaded incarnation of a shard replica owns and does in a turn, without Akka: the Raft core, the log store,
/// the pending requests, and the Ready turn (take ticks and inputs, flush reads, stage the Ready and its committed
/// entries' writes into a <see cref="SiloBatch"/>; once that batch is durable: send, complete, advance).
/// </summary>
/// <remarks>
/// <para>Two drivers run it (docs/design/shard-groups.md, "The replica actor" and "The node turn loop"): the replica's
/// own <see cref="ShardReplicaActor"/> (<c>memo.shards.turn-loop = replica</c>), which commits each turn's batch
/// alone, and the node's <see cref="NodeTurnLoop"/> (<c>= node</c>), which stages many replicas' turns and commits
/// their batches as one. Either way one caller at a time: a turn's front half (<see cref="BeginTurn"/>,
/// <see cref="StageReadyAsync"/>) and back half (<see cref="FinishReadyAsync"/>, <see cref="EndTurn"/>) never overlap
/// another turn of the same core, and nothing is stepped between a turn's GetReady and its Advance.</para>
/// <para>Not thread-safe: the driver serialises every call.</para>
/// </remarks>
internal sealed partial class ShardReplicaCore
{
    private readonly ShardGroupReplica _facade;
    private readonly ShardReplicaSettings _settings;
    private readonly ShardGroupOptions _options;
    private readonly ISilo _silo;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly Dictionary<NodeId, string> _peers;
    private readonly ReplicaInbox _inbox;
    private readonly long _clockOrigin;
    private readonly RaftNode _raft;
    private readonly SiloRaftStorage _storage;
    private LogIndex _applied;

    /// <summary>The core of an incarnation that loaded <paramref name="storage"/> and <paramref name="applied"/>; a group's
    /// only voter campaigns at once.</summary>
    public ShardReplicaCore(ShardGroupReplica facade, ReplicaInbox inbox, long clockOrigin, SiloRaftStorage storage, LogIndex applied)
    {
        _facade = facade;
        _settings = facade.Settings;
        _options = _settings.Options;
        _silo = _settings.Silo;
        _logger = _settings.Logger;
        _peers = _settings.InitialVoters.Where(p => p.Key != _settings.Node).ToDictionary(p => p.Key, p => p.Value);
        _inbox = inbox;
        _clockOrigin = clockOrigin;
        _storage = storage;
        _applied = applied;
        _raft = new RaftNode(_settings.RaftConfig, _storage, _applied);
        if (_raft.Membership.Voters.Length == 1 && _raft.Membership.IsVoter(Node))
        {
            // The only voter need not wait out an election timeout: nobody else can lead this group.
            _raft.Campaign();
        }
    }

    /// <summary>The replica's inbox (the driver wakes on it).</summary>
    public ReplicaInbox Inbox => _inbox;

    /// <summary>The replica's facade.</summary>
    public ShardGroupReplica Facade => _facade;

    private ShardId Shard => _settings.Shard;

    private NodeId Node => _settings.Node;

    /// <summary>
    /// A turn's start: re-arms the inbox, takes the pending ticks and the queued inputs (ticks before inputs), and
    /// flushes the reads taken into one ReadIndex. True when the core has a Ready to handle; false when the turn is over
    /// (the caller then calls <see cref="EndTurn"/>).
    /// </summary>
    public bool BeginTurn()
    {
        // Reads stop skipping the actor while a turn may change what they would see (ShardGroupReplica.TryReadAlone).
        _facade.PublishRest(ReplicaRest.Working);
        // Re-armed first: an input queued from here on posts a new wake, one queued before is taken below.
        _inbox.Rearm();
        // The clock is read only for the latency probe: every turn passes here.
        var probeStart = Diagnostics.LatencyProbe.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        var taken = TakeInputs();
        if (taken > 0 && Diagnostics.LatencyProbe.Enabled)
        {
            Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.TurnStart, System.Diagnostics.Stopwatch.GetTimestamp() - probeStart);
        }
        FlushReads();
        var ready = _raft.HasReady;
        NodeMetrics.RecordTurn(taken, ready);
        return ready;
    }

    /// <summary>A turn's end (its batches are in the silo): publishes the status and what reads may skip, and wakes the
    /// driver again when the turn stopped at <see cref="ShardGroupOptions.MaxInputsPerTurn"/> or left a Ready.</summary>
    public void EndTurn()
    {
        PublishStatus();
        _facade.PublishRest(!ServesReadsAlone() ? ReplicaRest.Working : IdleUnderTicks() ? ReplicaRest.IdleUnderTicks : ReplicaRest.ServesReadsAlone);
        if (_raft.HasReady || _inbox.HasInputs)
        {
            // A turn that stopped at MaxInputsPerTurn, or a Ready left after it: another turn, after what is queued before it.
            _inbox.Wake();
        }
    }

    /// <summary>Publishes the core's state on the facade.</summary>
    public void PublishStatus() => _facade.Publish(MakeStatus());

    /// <summary>A turn that commits its own batch: <see cref="StageReadyAsync"/> into a new batch, then
    /// <see cref="FinishReadyAsync"/>, which commits it (the replica actor's turn).</summary>
    public async Task HandleReadyAsync()
    {
        var staged = await StageReadyAsync(new SiloBatch(), shared: false).ConfigureAwait(false);
        await FinishReadyAsync(staged, committed: null).ConfigureAwait(false);
    }

    /// <summary>Fails what the core had taken (an incarnation that stopped): proposals, async writes and reads.</summary>
    public void FailPending(ShardGroupStoppedException reason)
    {
        foreach (var index in _appendWaiters.Keys.ToList())
        {
            ForgetAppended(index, null);
        }
        foreach (var proposal in _proposals.Values)
        {
            proposal.Completion.TrySetException(reason);
        }
        _proposals.Clear();
        foreach (var read in _reads.Values)
        {
            read.Fail(reason);
        }
        _reads.Clear();
        _unsentReads?.ForEach(read => read.TrySetException(reason));
        _unsentReads = null;
        _pendingReadCount = 0;
    }

    // The group's only voter, leading, with everything committed applied and stored (a turn ends only after its batches
    // are in the silo) and its commit index in its own term: a ReadIndex now would be answered at once at an index
    // already applied, so until the next turn a read may skip it (ShardGroupReplica.TryReadAlone). A learner votes for
    // nobody; a voter added later comes in through a turn, which clears the permission first.
    private bool ServesReadsAlone() =>
        _raft.Role == RaftRole.Leader
        && _raft.Membership.Voters.Length == 1 && _raft.Membership.Voters[0] == Node
        && _raft.CommittedInCurrentTerm
        && _applied >= _raft.CommitIndex;

    // Given ServesReadsAlone: a leader that is its group's only voter and has no learner sends nothing on a tick (no one
    // to heartbeat or replicate to) and cannot lose an election; with no read, proposal or async write pending, nothing
    // waits on a tick's timeout either. An input (a proposal, a configuration change adding a learner) wakes it.
    private bool IdleUnderTicks() =>
        _raft.Membership.Learners.IsEmpty
        && _reads.Count == 0 && _unsentReads is null && _proposals.Count == 0 && _appendWaiters.Count == 0;

    /// <summary>The core's state as the facade reports it.</summary>
    public ShardGroupStatus MakeStatus() => new(
        Shard, Node, _raft.Role, _raft.Term, _raft.Leader, _raft.CommitIndex, _applied, _storage.FirstIndex, _raft.LastIndex,
        _storage.Snapshot.Index, _raft.Membership, null);

    // A loop that stalled (a slow commit) must not replay a burst of ticks at once: that would look like a long
    // silence to the core and start needless elections.
    private const int MaxTicksPerTurn = 3;

    private readonly Dictionary<LogIndex, PendingProposal> _proposals = [];
    // Async writes among the pending proposals, by index: acknowledged at their durable append (SignalAppended), then
    // forgotten at their final outcome (ForgetAppended). Empty unless someone asks for async writes, so the other
    // proposals pay one Count check per turn and per completion.
    private readonly Dictionary<LogIndex, AppendWaiter> _appendWaiters = [];
    private readonly Dictionary<ulong, PendingRead> _reads = [];
    private readonly Dictionary<ShardRecordKey, byte[]?> _overlay = [];
    private bool _overlayIsWholeShard;
    private ulong _nextReadId;
    // Reads taken since the last turn, waiting for one shared ReadIndex at the turn (FlushReads).
    private List<TaskCompletionSource<ShardGroupOutcome>>? _unsentReads;
    private int _pendingReadCount;
    private LogIndex _snapshotRefusedAt;
    private long _refusedMessages;

    // Takes the pending ticks, then the queued inputs up to MaxInputsPerTurn. Before each input, the ticks counted by
    // the time it was taken from the inbox are stepped: a tick that fired before an input arrived is always stepped
    // before it (the count is read after the input left the inbox, and the tick was counted before the input entered).
    // The reverse may happen (a tick stepped before an input that arrived just before it), which only makes a follower
    // wait longer before it campaigns.
    private int TakeInputs()
    {
        TakeTicks();
        var taken = 0;
        while (taken < _options.MaxInputsPerTurn && _inbox.TryTake(out var input))
        {
            if (_facade.HasPendingTicks)
            {
                TakeTicks();
            }
            Take(input);
            taken++;
        }
        return taken;
    }

    // Steps one input into the core (TakeInputs steps the ticks due before it first).
    private void Take(ReplicaInput input)
    {
        switch (input)
        {
            case InboundInput inbound:
                Step(inbound.From, inbound.Body);
                break;
            case ReplicaRequest { Completion.Task.IsCompleted: true }:
                // Cancelled by the caller while queued: withdrawn before it reached the log.
                break;
            case ProposeInput propose:
                Propose(propose);
                break;
            case ReadInput read:
                StartRead(read);
                break;
            case ConfigInput config:
                ProposeConfigChange(config);
                break;
            case TransferInput transfer:
                var result = _raft.TransferLeadership(transfer.Target);
                transfer.Completion.TrySetResult(result.IsAccepted ? new ShardGroupOutcome.TransferStarted(transfer.Target) : ShardGroupOutcome.From(result));
                break;
            case StatusInput status:
                status.Completion.TrySetResult(_raft.Status);
                break;
        }
    }

    private void Step(NodeId from, ReadOnlyMemory<byte> body)
    {
        if (!RaftWireCodec.TryDecode(body, out var message, out var error))
        {
            LogBadMessage(Shard, from.Value, error!);
            return;
        }
        if (message!.From != from || message.To != Node)
        {
            LogBadMessage(Shard, from.Value, $"addressed from {message.From.Value} to {message.To.Value}");
            return;
        }
        if (_raft.Admit(message, _settings.IsPlaced) == RaftAdmission.Refused)
        {
            // Issue 9 item 2; a removed member's late heartbeats land here too, so only every 1000th is logged.
            if (++_refusedMessages % 1000 == 1)
            {
                LogBadMessage(Shard, from.Value, $"{message.Kind} from a node that is not a member of the group ({_refusedMessages} refused)");
            }
            return;
        }
        AdvanceClock();
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.TurnInbound, (long)message.Kind);
        _raft.Step(message);
    }

    private void Propose(ProposeInput propose)
    {
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.Propose);
        if (_raft.Role != RaftRole.Leader)
        {
            NodeMetrics.RecordProposal(accepted: false);
            propose.Completion.TrySetResult(new ShardGroupOutcome.NotLeader(_raft.Leader));
            return;
        }
        if (_proposals.Count >= _options.MaxPendingProposals)
        {
            NodeMetrics.RecordProposal(accepted: false);
            propose.Completion.TrySetResult(new ShardGroupOutcome.Dropped("too many pending proposals"));
            return;
        }
        var result = _raft.Propose(propose.Data);
        NodeMetrics.RecordProposal(result.IsAccepted);
        if (result.IsAccepted)
        {
            Track(result.Index, new PendingProposal(result.Term, propose.Completion));
            if (_appendWaiters.Count > 0)
            {
                // An async write left at this index by an earlier term of this leader was truncated away.
                ForgetAppended(result.Index, new ShardGroupOutcome.Superseded(result.Index));
            }
            if (propose.Appended is { } appended)
            {
                _appendWaiters[result.Index] = new AppendWaiter(result.Term, appended);
            }
        }
        else
        {
            propose.Completion.TrySetResult(ShardGroupOutcome.From(result));
        }
    }

    // A proposal still pending at a reused index was made in an earlier term of this node's leadership and truncated
    // away by another leader's log: it can no longer commit, so it is answered Superseded rather than forgotten.
    private void Track(LogIndex index, PendingProposal proposal)
    {
        if (_proposals.Remove(index, out var stale))
        {
            stale.Completion.TrySetResult(new ShardGroupOutcome.Superseded(index));
        }
        _proposals[index] = proposal;
    }

    private void ProposeConfigChange(ConfigInput config)
    {
        if (config.Address is { } address && config.Change.Node != Node)
        {
            // Known before the change commits, so the leader can send it the log at once.
            _peers[config.Change.Node] = address;
        }
        if (_proposals.Count >= _options.MaxPendingProposals)
        {
            config.Completion.TrySetResult(new ShardGroupOutcome.Dropped("too many pending proposals"));
            return;
        }
        var result = _raft.ProposeConfigChange(config.Change);
        if (result.IsAccepted)
        {
            Track(result.Index, new PendingProposal(result.Term, config.Completion));
        }
        else
        {
            config.Completion.TrySetResult(ShardGroupOutcome.From(result));
        }
    }

    private void StartRead(ReadInput read)
    {
        // Only the leader serves reads: a follower's read would need the leader anyway, and the router goes there.
        if (_raft.Role != RaftRole.Leader)
        {
            read.Completion.TrySetResult(new ShardGroupOutcome.NotLeader(_raft.Leader));
            return;
        }
        if (_pendingReadCount >= _options.MaxPendingReads)
        {
            read.Completion.TrySetResult(new ShardGroupOutcome.Dropped("too many pending reads"));
            return;
        }
        _pendingReadCount++;
        (_unsentReads ??= []).Add(read.Completion);
    }

    // Every read taken this turn waits on ONE ReadIndex: a read is linearizable if its index is confirmed after it
    // arrived, so reads that arrived together can share a confirmation (one heartbeat round instead of one each).
    private void FlushReads()
    {
        if (_unsentReads is not { } reads)
        {
            return;
        }
        _unsentReads = null;
        var id = ++_nextReadId;
        var context = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(context, id);
        var pending = new PendingRead(reads);
        // Read right before the lease check: a clock read earlier in the turn would make the lease look longer.
        AdvanceClock();
        NodeMetrics.RecordReadIndex();
        var result = _raft.ReadIndex(context);
        if (result.IsAccepted)
        {
            _reads[id] = pending;
        }
        else
        {
            _pendingReadCount -= reads.Count;
            pending.Complete(ShardGroupOutcome.From(result));
        }
    }

    private void TakeTicks()
    {
        var ticks = Math.Min(_facade.TakeTicks(), MaxTicksPerTurn);
        if (ticks == 0)
        {
            return;
        }
        AdvanceClock();
        for (var i = 0; i < ticks; i++)
        {
            _raft.Tick();
        }
        _facade.CountTicksStepped(ticks);
        List<ulong>? expired = null;
        foreach (var (id, read) in _reads)
        {
            if (read.Index is null && (read.AgeTicks += ticks) > _options.ReadTimeoutTicks)
            {
                read.Complete(new ShardGroupOutcome.Dropped("leadership not confirmed in time for the read"));
                (expired ??= []).Add(id);
            }
        }
        expired?.ForEach(RemoveRead);
    }

    // The core times leader leases with the host's monotonic clock in tick units (RaftNode.AdvanceClock).
    private void AdvanceClock() =>
        _raft.AdvanceClock(_options.Time.GetElapsedTime(_clockOrigin).Ticks / (double)_options.TickInterval.Ticks);

    /// <summary>
    /// A turn's front half, once <see cref="BeginTurn"/> found a Ready: sends the leader's early messages and stages
    /// the Ready (log, hard state, snapshot) and the state-machine writes of its committed entries, with the applied
    /// index, into <paramref name="batch"/>. The batch's commit is the caller's (<see cref="FinishReadyAsync"/> does it
    /// when not <paramref name="shared"/>); until then the core is between GetReady and Advance and nothing may be
    /// stepped.
    /// </summary>
    /// <param name="batch">An empty batch this turn alone stages into.</param>
    /// <param name="shared">The batch is committed together with other replicas' (the node turn loop): a lone voter
    /// then puts its new entries and their application in that one flushed batch, instead of committing the entries
    /// alone first and the application after them.</param>
    public async ValueTask<StagedTurn> StageReadyAsync(SiloBatch batch, bool shared)
    {
        // A lone voter (no other member to tell) may hand the core its Ready as persisted before the batch is durable:
        // the core then commits the new entries at once, and their application is staged in the same turn, into a
        // second batch queued once the entries' batch is durable. Nothing is acknowledged, sent or read until the
        // entries are durable, so a crash before that loses only what nobody was told about.
        var soloLeader = _raft.Role == RaftRole.Leader && _raft.Membership.Voters.Length == 1 && _raft.Membership.Learners.IsEmpty;
        var turns = new List<(Ready Ready, List<(RaftEntry Entry, ShardGroupOutcome? Outcome)> Applied, bool Advanced)>(2);
        // One overlay for the whole call: the second Ready is decided against the first one's writes, which the silo
        // does not show yet.
        _overlay.Clear();
        _overlayIsWholeShard = false;
        var flush = false;
        List<Task>? earlier = null;
        Task? soloEntries = null;
        while (true)
        {
            var ready = _raft.GetReady();
            if (ready.Snapshot is not null && !batch.IsEmpty)
            {
                // A snapshot clears the shard first: it must not come to delete what the batch already holds.
                (earlier ??= []).Add(Commit(batch, flush));
                batch = new SiloBatch();
                flush = false;
            }
            // A follower's Ready often holds new entries and earlier committed ones: they stay in one batch. Splitting the
            // application off (a second, unflushed transaction after the acknowledgement) was measured on 2026-12-07 on
            // three nodes: 18% more server CPU per put and 12% fewer puts at one caller, as the extra transaction on each
            // follower competes for the two cores with the critical path. A lone voter splits its own way (below).
            var (applied, mustFlush) = await StageAsync(ready, batch).ConfigureAwait(false);
            flush |= mustFlush;
            var early = soloLeader && ready.Snapshot is null && turns.Count == 0;
            if (early)
            {
                _raft.Advance(ready);
            }
            turns.Add((ready, applied, early));
            if (!early || !_raft.HasReady)
            {
                break;
            }
            if (flush && earlier is null && !shared)
            {
                // The new entries go alone in a flushed batch: once it is durable they are committed (this node is the
                // only voter) and their proposals are answered. Their application goes in a second batch, queued only
                // after that (so it can never be in the silo without its entries), which needs no flush: the durable
                // log rebuilds it. Measured here, each further page in an fsynced SQLite commit adds 30-40 µs.
                soloEntries = Commit(batch, flush);
                batch = new SiloBatch();
                flush = false;
            }
        }
        // A multi-voter group's committed entries are already durable on a majority: their outcomes are decided, and the
        // batch only writes their application, which a restart rebuilds from the log. So their proposals are answered
        // now, before that write (etcd answers after applying in memory too). Reads stay linearizable: a read is
        // answered only at the end of a turn, after every earlier batch, this one included, is in the silo
        // (CompleteReads), and a nearby read that misses falls back to a linearizable one. A lone voter's proposals are
        // answered once its entries' own batch is durable (FinishReadyAsync), and a snapshot resolves proposals itself.
        var answeredEarly = earlier is null && !turns.Exists(t => t.Advanced || t.Ready.Snapshot is not null);
        // Completed at the end of the turn, once every batch of it is in the silo (finally: a failed turn stops the
        // replica, and a reader then just reads the silo).
        TaskCompletionSource? stored = null;
        if (answeredEarly && turns.Exists(t => t.Applied.Count > 0))
        {
            stored = PublishApplicationInFlight();
            foreach (var (_, applied, _) in turns)
            {
                CompleteProposals(applied);
            }
        }
        return new StagedTurn(turns, batch, flush, earlier, soloEntries, answeredEarly, stored, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// A turn's back half: once <paramref name="staged"/>'s batch is durable (<paramref name="committed"/>, the
    /// commit of a batch holding it; null to commit it here), signals async writes, sends the Ready's messages,
    /// completes proposals and reads, advances the core, and snapshots when due. A fault (a failed commit) leaves the
    /// core unusable: the incarnation must stop.
    /// </summary>
    public async Task FinishReadyAsync(StagedTurn staged, Task? committed)
    {
        var (turns, batch, flush, earlier, soloEntries) = (staged.Turns, staged.Batch, staged.Flush, staged.Earlier, staged.SoloEntries);
        var answeredEarly = staged.AnsweredEarly;
        var stored = staged.Stored;
        try
        {
            var persisting = staged.StagedAt;
            Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.CommitStart, flush ? 1 : 0);
            if (soloEntries is not null)
            {
                // A lone voter's entries are committed once their batch is durable; their outcomes were decided while
                // staging the application (still on its way to the silo: reads wait for it, below).
                await soloEntries.ConfigureAwait(false);
                stored ??= PublishApplicationInFlight();
                foreach (var (_, applied, _) in turns)
                {
                    CompleteProposals(applied);
                }
                answeredEarly = true;
            }
            await (committed ?? Commit(batch, flush)).ConfigureAwait(false);
            Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.CommitEnd);
            if (!batch.IsEmpty)
            {
                NodeMetrics.RecordAppend(persisting);
            }
            if (earlier is not null)
            {
                await Task.WhenAll(earlier).ConfigureAwait(false);
            }
            if (_appendWaiters.Count > 0)
            {
                SignalAppended(turns);
            }

            foreach (var (ready, applied, advanced) in turns)
            {
                Send(ready.MessagesAfterPersistence);
                if (!answeredEarly)
                {
                    CompleteProposals(applied);
                }
                foreach (var state in ready.ReadStates)
                {
                    if (state.Context.Length == 8 && _reads.TryGetValue(BinaryPrimitives.ReadUInt64BigEndian(state.Context), out var read))
                    {
                        read.Index = state.Index;
                    }
                }
                if (!advanced)
                {
                    _raft.Advance(ready);
                }
            }
        }
        finally
        {
            stored?.TrySetResult();
        }
        CompleteReads();
        await MaybeSnapshotAsync().ConfigureAwait(false);
    }

    private TaskCompletionSource PublishApplicationInFlight()
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _facade.PublishApplicationInFlight(stored.Task);
        return stored;
    }

    // Answers the proposals among committed entries: their outcome, or Superseded where another term's entry took the
    // index (this node lost leadership before its entry committed).
    private void CompleteProposals(List<(RaftEntry Entry, ShardGroupOutcome? Outcome)> applied)
    {
        foreach (var (entry, outcome) in applied)
        {
            if (_proposals.Remove(entry.Index, out var proposal))
            {
                Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.Completed);
                var final = proposal.Term == entry.Term && outcome is not null
                    ? outcome
                    : new ShardGroupOutcome.Superseded(entry.Index);
                if (_appendWaiters.Count > 0)
                {
                    ForgetAppended(entry.Index, final);
                }
                proposal.Completion.TrySetResult(final);
            }
        }
    }

    // The batch just committed holds the turn's new log entries durably: on a leader, these are its own proposals, so an
    // async write among them is acknowledged now, before a majority holds it (ARCHITECTURE.md, "Policies: write consistency").
    // A follower's entries carry no waiters (proposals are taken only by a leader), and a waiter whose index now holds
    // another term's entry (this node lost leadership) is left to its final outcome, Superseded.
    private void SignalAppended(List<(Ready Ready, List<(RaftEntry Entry, ShardGroupOutcome? Outcome)> Applied, bool Advanced)> turns)
    {
        foreach (var (ready, _, _) in turns)
        {
            foreach (var entry in ready.Entries)
            {
                if (_appendWaiters.TryGetValue(entry.Index, out var waiter) && !waiter.Acknowledged && waiter.Term == entry.Term)
                {
                    waiter.Acknowledged = true;
                    NodeMetrics.RecordAsyncWriteAcknowledged();
                    waiter.Appended.TrySetResult(new ShardGroupOutcome.Appended(entry.Index));
                }
            }
        }
    }

    // An async write's final outcome: it leaves the count of acknowledged-but-uncommitted writes, and one acknowledged
    // at its append that did not commit here is counted lost (this leader failed or was replaced before a majority held
    // it: the risk the async level takes).
    private void ForgetAppended(LogIndex index, ShardGroupOutcome? final)
    {
        if (!_appendWaiters.Remove(index, out var waiter))
        {
            return;
        }
        if (waiter.Acknowledged)
        {
            NodeMetrics.RecordAsyncWriteFinished(committed: final is ShardGroupOutcome.Applied);
        }
        else if (final is not null)
        {
            waiter.Appended.TrySetResult(final);
        }
    }

    // No cancellation: a commit cancelled half-way would leave us unsure what is durable. Only new entries, a snapshot,
    // and a new term or vote must survive power loss before anything is sent or acknowledged; applied state and a
    // commit index that moved are rebuilt from the durable log after such a loss (a replica restarts from its last
    // durable applied index and the core re-learns the commit index), so a batch with nothing else skips the flush
    // (the leader's commit turn on a write's path, a follower's commit catch-up).
    private Task Commit(SiloBatch batch, bool flush) =>
        batch.IsEmpty ? Task.CompletedTask : _silo.CommitAsync(flush ? batch : batch.DeferFlush(), CancellationToken.None);

    // Only new entries, a snapshot, and a new term or vote must be flushed before the Ready's messages go out (Commit).
    private bool MustFlush(Ready ready) =>
        ready.Snapshot is not null || ready.Entries.Count > 0
        || (ready.HardState is { } state && (state.Term != _storage.HardState.Term || state.Vote != _storage.HardState.Vote));

    // Sends the leader's early messages, then stages into the batch the Ready's log, hard state and snapshot and the
    // state-machine writes of its committed entries with the applied index. True when the batch must be flushed.
    private async Task<(List<(RaftEntry Entry, ShardGroupOutcome? Outcome)> Applied, bool MustFlush)> StageAsync(Ready ready, SiloBatch batch)
    {
        var mustFlush = MustFlush(ready);
        Send(ready.MessagesBeforePersistence);

        var appliedBefore = _applied;
        if (ready.Snapshot is { } snapshot)
        {
            NodeMetrics.RecordSnapshotReceived();
            batch.ClearShard(Shard);
            _storage.Stage(ready, batch);
            foreach (var (key, value) in ShardSnapshotCodec.Decode(snapshot.Data))
            {
                // The leader's snapshot is checked like its entries: a record the state machine could not have stored
                // here (a forged block, another shard's key) is not installed. An honest leader sends none.
                if (ShardStateMachine.CheckRecord(key, value, Shard, _settings.Layout) is { } problem)
                {
                    LogSnapshotRecordRefused(Shard, snapshot.Index.Value, key.IsEntry ? key.Key! : key.Address.ToString(), problem);
                    continue;
                }
                StageRecord(batch, key, value);
            }
            // Every record of the shard is now in the overlay: a miss means absent, not "read the silo".
            _overlayIsWholeShard = true;
            _applied = LogIndex.Max(_applied, snapshot.Index);
            ResolveProposalsCoveredBy(snapshot.Index);
        }
        else
        {
            _storage.Stage(ready, batch);
        }

        var applied = new List<(RaftEntry Entry, ShardGroupOutcome? Outcome)>(ready.CommittedEntries.Count);
        foreach (var entry in ready.CommittedEntries)
        {
            RaftInvariantException.ThrowIf(entry.Index != _applied.Next(), $"committed entry {entry.Index} does not follow applied {_applied}");
            applied.Add((entry, await ApplyAsync(entry, batch).ConfigureAwait(false)));
            _applied = entry.Index;
        }
        if (_applied != appliedBefore)
        {
            batch.PutMeta(ShardGroupReplica.AppliedKey(Shard), ShardGroupReplica.EncodeApplied(_applied));
        }
        return (applied, mustFlush);
    }

    private void CompleteReads()
    {
        if (_reads.Count == 0)
        {
            return;
        }
        var leader = _raft.Role == RaftRole.Leader;
        List<ulong>? done = null;
        foreach (var (id, read) in _reads)
        {
            if (read.Index is { } index && index <= _applied)
            {
                read.Complete(new ShardGroupOutcome.ReadReady(index));
                (done ??= []).Add(id);
            }
            else if (read.Index is null && !leader)
            {
                // The core dropped the unconfirmed read when it stepped down; it will never be confirmed.
                read.Complete(new ShardGroupOutcome.NotLeader(_raft.Leader));
                (done ??= []).Add(id);
            }
        }
        done?.ForEach(RemoveRead);
    }

    private void RemoveRead(ulong id)
    {
        if (_reads.Remove(id, out var read))
        {
            _pendingReadCount -= read.Completions.Count;
        }
    }

    private void ResolveProposalsCoveredBy(LogIndex snapshotIndex)
    {
        foreach (var index in _proposals.Keys.Where(i => i <= snapshotIndex).ToList())
        {
            _proposals.Remove(index, out var proposal);
            var unknown = new ShardGroupOutcome.Unknown(index);
            if (_appendWaiters.Count > 0)
            {
                ForgetAppended(index, unknown);
            }
            proposal!.Completion.TrySetResult(unknown);
        }
    }

    private async ValueTask<ShardGroupOutcome?> ApplyAsync(RaftEntry entry, SiloBatch batch)
    {
        if (entry.Kind == RaftEntryKind.ConfigChange)
        {
            // The core already switched to the configuration when the entry was appended; report it as committed.
            return new ShardGroupOutcome.MembershipChanged(ConfigChange.Decode(entry.Data), entry.Index, _raft.MembershipAt(entry.Index));
        }
        if (entry.Data.Length == 0)
        {
            return null; // A new leader's empty entry.
        }
        ShardCommand command;
        try
        {
            command = ShardCommand.Parser.ParseFrom(entry.Data);
        }
        catch (InvalidProtocolBufferException e)
        {
            // Deterministic on every replica (same entry bytes), so skipping it keeps replicas identical.
            LogCommandInvalid(e, Shard, entry.Index.Value);
            return new ShardGroupOutcome.Invalid($"the command does not parse: {e.Message}");
        }
        // The full checks run here, at apply, whoever proposed the entry (ShardStateMachine's design note); a refusal
        // is decided from the entry and the stored record alone, so every replica refuses it and stays identical.
        if (!ShardStateMachine.TryTarget(command, Shard, _settings.Layout, out var target, out var refusal))
        {
            LogCommandMisdirected(Shard, entry.Index.Value, refusal.Reason);
            return new ShardGroupOutcome.Applied(refusal, entry.Index);
        }
        var current = _overlay.TryGetValue(target, out var pending) ? pending
            : _overlayIsWholeShard ? null
            : await ReadAsync(target, command).ConfigureAwait(false);
        var decision = ShardStateMachine.Decide(command, current);
        if (decision.Changed)
        {
            StageRecord(batch, target, decision.NewValue);
        }
        if (decision.Also is { } also)
        {
            foreach (var write in also)
            {
                StageRecord(batch, write.Key, write.Value); // a mutable block's kept versions (memo.network.versions)
            }
        }
        else if (decision.Result is ShardResult.Refused refused)
        {
            LogCommandRefused(Shard, entry.Index.Value, refused.Reason);
        }
        return new ShardGroupOutcome.Applied(decision.Result, entry.Index);
    }

    private void StageRecord(SiloBatch batch, ShardRecordKey target, byte[]? value)
    {
        _overlay[target] = value;
        if (target.IsEntry)
        {
            if (value is null)
            {
                batch.DeleteEntry(target.Key!);
            }
            else
            {
                batch.PutEntry(Shard, target.Key!, value);
            }
        }
        else if (value is null)
        {
            batch.DeleteBlock(target.Address);
        }
        else
        {
            batch.PutBlock(Shard, target.Address, value);
        }
    }

    private ValueTask<byte[]?> ReadAsync(ShardRecordKey target, ShardCommand command) =>
        target.IsEntry ? _silo.ReadEntryAsync(target.Key!)
        // A reclaim is decided from the block's salt and owner, never its payload: a large copy is not read whole.
        : command.CommandCase == ShardCommand.CommandOneofCase.ReclaimBlock ? _silo.ReadBlockHeadAsync(target.Address)
        : _silo.ReadBlockAsync(target.Address);

    /// <summary>
    /// Snapshots the shard once enough entries were applied since the last snapshot, or once the configuration in force
    /// differs from the snapshot's (a leader does not send a snapshot that names a re-added member a voter of a
    /// configuration from before its removal: <see cref="RaftNode.SnapshotIsBehindConfiguration"/>), and compacts the
    /// log. Runs between turns, when the silo holds exactly the state through <see cref="_applied"/> (this actor is the
    /// shard's only writer and its last batch is durable).
    /// </summary>
    private async Task MaybeSnapshotAsync()
    {
        var since = LogIndex.Max(_storage.Snapshot.Index, _snapshotRefusedAt);
        var configurationBehind = _raft.SnapshotIsBehindConfiguration && _snapshotRefusedAt <= _storage.Snapshot.Index;
        if (!configurationBehind && _applied.Value - Math.Min(since.Value, _applied.Value) < (ulong)_options.SnapshotThresholdEntries)
        {
            return;
        }
        if (_raft.SnapshotMetadataAt(_applied) is not { } metadata)
        {
            return;
        }
        var data = await ShardSnapshotCodec.CaptureAsync(_silo, Shard, _options.MaxSnapshotBytes, CancellationToken.None).ConfigureAwait(false);
        if (data is null)
        {
            _snapshotRefusedAt = _applied;
            LogSnapshotTooLarge(Shard, _applied.Value, _options.MaxSnapshotBytes);
            return;
        }
        var keep = (ulong)_options.SnapshotKeepEntries;
        var compactThrough = new LogIndex(_applied.Value > keep ? _applied.Value - keep : 0);
        var batch = new SiloBatch();
        _storage.StageSnapshot(new RaftSnapshot(metadata, data), compactThrough, batch);
        await _silo.CommitAsync(batch, CancellationToken.None).ConfigureAwait(false);
        LogSnapshotMade(Shard, _applied.Value, data.Length, _storage.FirstIndex.Value);
    }

    private void Send(IReadOnlyList<RaftMessage> messages)
    {
        foreach (var message in messages)
        {
            if (AddressOf(message.To) is not { } address)
            {
                LogNoAddress(Shard, message.To.Value, message.Kind);
                continue;
            }
            var body = RaftWireCodec.Encode(message);
            if (body.Length > _options.MaxMessageBytes)
            {
                LogMessageTooLarge(Shard, message.To.Value, message.Kind, body.Length);
                continue;
            }
            if (message.Kind == RaftMessageKind.Snapshot)
            {
                NodeMetrics.RecordSnapshotSent(body.Length);
            }
            Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.Send, (long)message.Kind);
            _settings.Transport.Send(message.To, address, PeerMessage.Raft(Shard, body));
        }
    }

    private string? AddressOf(NodeId node)
    {
        if (_peers.TryGetValue(node, out var address))
        {
            return address;
        }
        if (_settings.ResolveAddress?.Invoke(node) is { Length: > 0 } resolved)
        {
            _peers[node] = resolved;
            return resolved;
        }
        return null;
    }

    /// <summary>A turn staged by <see cref="StageReadyAsync"/>, waiting for its batch to be durable.</summary>
    /// <param name="Turns">The Readies handled (two for a lone voter that advanced early), with their committed entries' outcomes.</param>
    /// <param name="Batch">The batch still to commit (the last one the turn staged into).</param>
    /// <param name="Flush">Whether <see cref="Batch"/> must be flushed before the turn's messages go out.</param>
    /// <param name="Earlier">Batches this turn already committed before <see cref="Batch"/> (a snapshot's predecessor).</param>
    /// <param name="SoloEntries">A lone voter's entries, committed alone before their application (not when shared).</param>
    /// <param name="AnsweredEarly">Whether the proposals were answered at staging.</param>
    /// <param name="Stored">Completed once the turn's application is stored (reads that skip the turn wait for it).</param>
    /// <param name="StagedAt">When staging ended (<see cref="System.Diagnostics.Stopwatch"/> ticks): the append's time
    /// is measured from here, whoever commits the batch.</param>
    internal sealed record StagedTurn(
        List<(Ready Ready, List<(RaftEntry Entry, ShardGroupOutcome? Outcome)> Applied, bool Advanced)> Turns,
        SiloBatch Batch,
        bool Flush,
        List<Task>? Earlier,
        Task? SoloEntries,
        bool AnsweredEarly,
        TaskCompletionSource? Stored,
        long StagedAt);

    private sealed record PendingProposal(Term Term, TaskCompletionSource<ShardGroupOutcome> Completion);

    // An async write pending in the log: its term at the proposal, and whether its early answer went out.
    private sealed class AppendWaiter(Term term, TaskCompletionSource<ShardGroupOutcome> appended)
    {
        public Term Term { get; } = term;
        public TaskCompletionSource<ShardGroupOutcome> Appended { get; } = appended;
        public bool Acknowledged { get; set; }
    }

    // One ReadIndex confirmation shared by every read that arrived before the same turn.
    private sealed class PendingRead(List<TaskCompletionSource<ShardGroupOutcome>> completions)
    {
        public List<TaskCompletionSource<ShardGroupOutcome>> Completions { get; } = completions;
        public int AgeTicks { get; set; }
        public LogIndex? Index { get; set; }

        public void Complete(ShardGroupOutcome outcome)
        {
            foreach (var completion in Completions)
            {
                completion.TrySetResult(outcome);
            }
        }

        public void Fail(Exception reason)
        {
            foreach (var completion in Completions)
            {
                completion.TrySetException(reason);
            }
        }
    }
}
