using Akka.Actor;
using Memo.Node.Metrics;
using Memo.Node.Raft;
using Memo.Node.Storage;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// One incarnation of a shard replica: the actor that owns the shard's Raft core, its log store and the pending
/// requests, and runs the Ready turn. Its <see cref="ShardGroupReplica"/> facade queues inputs in the incarnation's
/// <see cref="ReplicaInbox"/> and wakes it; its backoff supervisor starts a new incarnation from the silo when this one
/// fails.
/// </summary>
/// <remarks>
/// <para>Design note (docs/design/shard-groups.md, "The replica actor").</para>
/// <code>
///   Loading ──loaded──▶ Running ◀──commit done── Persisting
///      │                  │  └──turn whose commit is pending──▶ ┘
///      └──load failed──▶ (stops: the supervisor starts another after the backoff)
/// </code>
/// <para>Running: a <see cref="ReplicaWake"/> runs a turn, which does what the channel loop this actor replaced did in
/// one pass: take the pending ticks, then the queued inputs (proposals, reads, Raft messages, membership, transfer and
/// status requests) up to <see cref="ShardGroupOptions.MaxInputsPerTurn"/>, each stepped into the core at once; then
/// flush the reads taken (one ReadIndex for all), and handle the core's Ready in the contract's order (Ready.cs): send
/// the early messages, stage the Ready and the state-machine writes of its committed entries into ONE
/// <see cref="SiloBatch"/>, commit it, then send, complete, advance. Everything queued when the turn starts shares its
/// Ready and its one silo commit.</para>
/// <para>Persisting: the commit is awaited off the actor (the silo group-commits many shards into one fsync); while it
/// runs, the core is between GetReady and Advance and belongs to the turn, so inputs stay queued in the inbox and wakes
/// are ignored. The commit's end comes back as a message (<see cref="ReplicaTurnDone"/>, or
/// <see cref="ReplicaTurnFailed"/>), and the next turn takes what queued meanwhile; a turn whose commit completed
/// synchronously (a memory silo) never leaves Running.</para>
/// <para>Ticks before inputs: a tick counted on the facade before an input was taken from the inbox is stepped before
/// that input (<see cref="TakeInputs"/>), so ticks that passed before a leader's heartbeat arrived never count after it
/// (they would shorten this voter's election timeout and eat into the leader's lease margin).</para>
/// <para>Invariants: the applied index is written in the same batch as the writes it covers, so a restart neither
/// re-applies nor skips a command; nothing is acknowledged or sent that promises durable state before the batch is
/// durable; a turn never overlaps another incarnation (a new one starts only after this one stopped, and this one stops
/// only between turns or when its turn has completed). A failure stops the incarnation: what it had taken fails with
/// <see cref="ShardGroupStoppedException"/>, what was queued and never stepped is answered Dropped.</para>
/// <para>Failing: the incarnation logs why (one warning) and stops itself; it does not throw to its supervisor, whose
/// strategy would log an error of its own for every failure.</para>
/// </remarks>
internal sealed partial class ShardReplicaActor : ReceiveActor
{
    private readonly ShardGroupReplica _facade;
    private readonly ShardReplicaSettings _settings;
    private readonly ShardGroupOptions _options;
    private readonly ISilo _silo;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly Dictionary<NodeId, string> _peers;
    private readonly ReplicaInbox _inbox;
    private readonly long _clockOrigin;
    private IActorRef _self = ActorRefs.Nobody;
    private Exception? _failure;
    private Task _turn = Task.CompletedTask;

    // Set once loaded.
    private RaftNode _raft = null!;
    private SiloRaftStorage _storage = null!;
    private LogIndex _applied;

    /// <summary>Use <see cref="Props"/>.</summary>
    public ShardReplicaActor(ShardGroupReplica facade)
    {
        try
        {
            _facade = facade;
            _settings = facade.Settings;
            _options = _settings.Options;
            _silo = _settings.Silo;
            _logger = _settings.Logger;
            _peers = _settings.InitialVoters.Where(p => p.Key != _settings.Node).ToDictionary(p => p.Key, p => p.Value);
            _inbox = new ReplicaInbox(Self, _options.MailboxCapacity);
            _clockOrigin = _options.Time.GetTimestamp();
            Loading();
        }
        catch (Exception e)
        {
            // Akka turns this into an ActorInitializationException for the supervisor (whose strategy stops the child, so
            // the backoff applies), and PostStop never runs: without this the replica's first start would wait forever.
            LogCreateFailed(facade.Settings.Logger, e, facade.Shard, facade.Node.Value, e.Message);
            facade.LoadFailed(e);
            throw;
        }
    }

    private ShardId Shard => _settings.Shard;

    private NodeId Node => _settings.Node;

    /// <summary>The props of an incarnation of <paramref name="facade"/>'s replica, on Akka's default dispatcher (the .NET
    /// thread pool, where the silo's completions, the transport and the API run too; docs/design/shard-groups.md says why,
    /// and why its wakes take the pool's global queue: <see cref="ReplicaInbox.Wake"/>).</summary>
    public static Props Props(ShardGroupReplica facade) =>
        Akka.Actor.Props.Create(() => new ShardReplicaActor(facade));

    protected override void PreStart()
    {
        _self = Self;
        LoadAsync(_settings).PipeTo(_self, success: loaded => loaded, failure: e => new ReplicaLoadFailed(e));
    }

    // --- Loading ---

    private void Loading()
    {
        Receive<ReplicaLoaded>(loaded =>
        {
            _storage = loaded.Storage;
            _applied = loaded.Applied;
            _raft = new RaftNode(_settings.RaftConfig, _storage, _applied);
            if (_raft.Membership.Voters.Length == 1 && _raft.Membership.IsVoter(Node))
            {
                // The only voter need not wait out an election timeout: nobody else can lead this group.
                _raft.Campaign();
            }
            Become(Running);
            if (_facade.Incarnations > 0)
            {
                LogRestarted(Shard, Node.Value, _facade.Incarnations + 1);
            }
            _facade.Attach(_inbox, MakeStatus());
            // Whatever is pending already (a lone voter's campaign, ticks) is taken by a first turn.
            _inbox.Wake();
        });
        Receive<ReplicaLoadFailed>(failed =>
        {
            _facade.LoadFailed(failed.Cause);
            Fail(failed.Cause);
        });
    }

    /// <summary>Reads the shard's Raft state and applied index, bootstrapping the group first when the silo has none and
    /// this node is one of the initial voters.</summary>
    private static async Task<ReplicaLoaded> LoadAsync(ShardReplicaSettings settings)
    {
        var (shard, silo) = (settings.Shard, settings.Silo);
        var storage = await SiloRaftStorage.LoadAsync(silo, shard, CancellationToken.None).ConfigureAwait(false);
        var applied = ShardGroupReplica.DecodeApplied(await silo.ReadMetaAsync(ShardGroupReplica.AppliedKey(shard), CancellationToken.None).ConfigureAwait(false));
        if (storage.Snapshot.Metadata.Membership.Voters.IsEmpty && storage.LastIndex == LogIndex.Zero && settings.InitialVoters.ContainsKey(settings.Node))
        {
            var batch = new SiloBatch();
            var voters = RaftMembership.Create(settings.InitialVoters.Keys);
            storage = settings.Options.BootstrapWithSnapshot
                ? SiloRaftStorage.BootstrapWithSnapshot(shard, voters, ShardSnapshotCodec.Empty(), batch)
                : SiloRaftStorage.Bootstrap(shard, voters, batch);
            applied = storage.Snapshot.Index;
            batch.PutMeta(ShardGroupReplica.AppliedKey(shard), ShardGroupReplica.EncodeApplied(applied));
            await silo.CommitAsync(batch, CancellationToken.None).ConfigureAwait(false);
        }
        // The snapshot is applied state too (installed in the batch that wrote it).
        return new ReplicaLoaded(storage, LogIndex.Max(applied, storage.Snapshot.Index));
    }

    // --- Running ---

    private void Running()
    {
        Receive<ReplicaWake>(_ => RunTurn());
    }

    private void RunTurn()
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
        if (!ready)
        {
            EndTurn();
            return;
        }
        var turn = HandleReadyAsync();
        if (turn.IsCompletedSuccessfully)
        {
            EndTurn();
            return;
        }
        if (turn.IsFaulted)
        {
            Fail(turn.Exception!.InnerException ?? turn.Exception);
            return;
        }
        _turn = turn;
        Become(Persisting);
        turn.PipeTo(_self, success: () => ReplicaTurnDone.Instance, failure: e => new ReplicaTurnFailed(e));
    }

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

    private void EndTurn()
    {
        _facade.Publish(MakeStatus());
        _facade.PublishRest(!ServesReadsAlone() ? ReplicaRest.Working : IdleUnderTicks() ? ReplicaRest.IdleUnderTicks : ReplicaRest.ServesReadsAlone);
        if (_raft.HasReady || _inbox.HasInputs)
        {
            // A turn that stopped at MaxInputsPerTurn, or a Ready left after it: another turn, after what the mailbox holds.
            _inbox.Wake();
        }
    }

    // --- Persisting ---

    private void Persisting()
    {
        // Inputs stay queued in the inbox, ticks counted on the facade, until the commit is done.
        Receive<ReplicaWake>(_ => { });
        Receive<ReplicaTurnDone>(_ =>
        {
            Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.TurnDone);
            Become(Running);
            _facade.Publish(MakeStatus());
            // What queued during the commit is taken now, in one turn (the loop's next pass); a wake that was ignored
            // meanwhile is not lost: this turn re-arms and takes everything.
            RunTurn();
        });
        Receive<ReplicaTurnFailed>(failed => Fail(failed.Cause is AggregateException { InnerException: { } inner } ? inner : failed.Cause));
    }

    // --- Failure and stop ---

    // A broken invariant or a failed commit: the in-memory log may be ahead of the disk, so nothing more may be
    // acknowledged. The incarnation stops itself (its supervisor starts another from the silo after the backoff) rather
    // than throw: Akka's supervisor would log an error of its own for each failure, beside ours.
    private void Fail(Exception cause)
    {
        _facade.PublishRest(ReplicaRest.Working);
        _failure ??= cause;
        Become(Failed);
        Context.Stop(Self);
    }

    private void Failed()
    {
        // Stopping: nothing more is stepped.
        ReceiveAny(_ => { });
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception e)
        {
            Fail(e);
            return true;
        }
    }

    protected override void PostStop()
    {
        string reason;
        ShardGroupStoppedException stopped;
        if (_failure is { } failure)
        {
            LogStopped(failure, Shard, Node.Value, failure.Message, _options.MinRestartBackoff, _options.MaxRestartBackoff);
            reason = failure.Message;
            stopped = new ShardGroupStoppedException($"Shard {Shard} replica on node {Node.Value} stopped: {failure.Message}", failure);
        }
        else
        {
            reason = "stopped";
            stopped = new ShardGroupStoppedException($"Shard {Shard} replica on node {Node.Value} was disposed.");
        }
        // Queued and never stepped: they did nothing, so they can be retried.
        foreach (var input in _inbox.Close())
        {
            ReplicaInbox.Answer(input, $"the replica of shard {Shard} stopped before it took the request: {reason}");
        }
        // A turn still persisting owns the core and the pending requests until its commit ends.
        var last = _turn.IsCompleted ? Task.CompletedTask : _turn.ContinueWith(_ => FailPending(stopped), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (_turn.IsCompleted)
        {
            FailPending(stopped);
        }
        var status = _raft is null
            ? _facade.Status with { StopReason = reason }
            : MakeStatus() with { StopReason = reason };
        _facade.Detach(_inbox, status, reason, last);
        // An incarnation that stops before it ever loaded fails the replica's start (no effect once started).
        _facade.LoadFailed(stopped);
    }

    private void FailPending(ShardGroupStoppedException reason)
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
    // nobody; a voter added later comes in through a turn of this actor, which clears the permission first.
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

    private ShardGroupStatus MakeStatus() => new(
        Shard, Node, _raft.Role, _raft.Term, _raft.Leader, _raft.CommitIndex, _applied, _storage.FirstIndex, _raft.LastIndex,
        _storage.Snapshot.Index, _raft.Membership, null);
}
