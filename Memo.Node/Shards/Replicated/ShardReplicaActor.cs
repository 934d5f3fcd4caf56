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
///      │   │              │  └──turn whose commit is pending──▶ ┘
///      │   └──loaded, memo.shards.turn-loop = node──▶ Looped (the node's turn loop runs the turns; a failed one stops it)
///      └──load failed──▶ (stops: the supervisor starts another after the backoff)
/// </code>
/// <para>The turn itself is <see cref="ShardReplicaCore"/>'s; this actor drives it (<see cref="ShardTurnLoop.Replica"/>) or
/// hands it to the node's <see cref="NodeTurnLoop"/> (<see cref="ShardTurnLoop.Node"/>) and then only hears of a turn
/// that failed (<see cref="ReplicaTurnFailed"/>). Either way loading, supervision, incarnations and the inbox stay here.</para>
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
/// that input (<see cref="ShardReplicaCore.BeginTurn"/>), so ticks that passed before a leader's heartbeat arrived never count after it
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
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly ReplicaInbox _inbox;
    private readonly long _clockOrigin;
    private IActorRef _self = ActorRefs.Nobody;
    private Exception? _failure;
    private Task _turn = Task.CompletedTask;

    // Set once loaded.
    private ShardReplicaCore? _core;
    // Set once loaded when the node turn loop runs the turns (ShardTurnLoop.Node).
    private NodeTurnLoop.Member? _member;

    /// <summary>Use <see cref="Props"/>.</summary>
    public ShardReplicaActor(ShardGroupReplica facade)
    {
        try
        {
            _facade = facade;
            _settings = facade.Settings;
            _options = _settings.Options;
            _logger = _settings.Logger;
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
            _core = new ShardReplicaCore(_facade, _inbox, _clockOrigin, loaded.Storage, loaded.Applied);
            if (_options.TurnLoop == ShardTurnLoop.Node)
            {
                // The node's loop runs the turns from now on; this actor only hears of a turn that failed.
                var self = _self;
                var member = NodeTurnLoop.Of(_settings.Silo).Register(_core, cause => self.Tell(new ReplicaTurnFailed(cause)));
                _member = member;
                _inbox.RouteWakes(member.Wake);
                Become(Looped);
            }
            else
            {
                Become(Running);
            }
            if (_facade.Incarnations > 0)
            {
                LogRestarted(Shard, Node.Value, _facade.Incarnations + 1);
            }
            _facade.Attach(_inbox, _core.MakeStatus());
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
        var core = _core!;
        if (!core.BeginTurn())
        {
            core.EndTurn();
            return;
        }
        var turn = core.HandleReadyAsync();
        if (turn.IsCompletedSuccessfully)
        {
            core.EndTurn();
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

    // --- Looped: the node turn loop runs the turns ---

    private void Looped()
    {
        Receive<ReplicaTurnFailed>(failed => Fail(failed.Cause));
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
            _core!.PublishStatus();
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
        // A turn still in progress (persisting here, or anywhere in a round of the node turn loop) owns the core, the
        // inbox's reading end and the pending requests until it has finished.
        var core = _core;
        _inbox.Refuse();
        if (_member is null)
        {
            // Nobody reads the inbox while this actor's own turn persists: what is queued is answered at once.
            FailTaken(null, stopped, reason);
        }
        var turn = _member?.Unregister() ?? _turn;
        var last = turn.IsCompleted ? Task.CompletedTask : turn.ContinueWith(_ => FailTaken(core, stopped, reason), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (turn.IsCompleted)
        {
            FailTaken(core, stopped, reason);
        }
        var status = core is null
            ? _facade.Status with { StopReason = reason }
            : core.MakeStatus() with { StopReason = reason };
        _facade.Detach(_inbox, status, reason, last);
        // An incarnation that stops before it ever loaded fails the replica's start (no effect once started).
        _facade.LoadFailed(stopped);
    }

    // What the stopped incarnation had: queued and never stepped, answered Dropped (it did nothing, so it can be
    // retried); taken, failed with the reason.
    private void FailTaken(ShardReplicaCore? core, ShardGroupStoppedException stopped, string reason)
    {
        foreach (var input in _inbox.Close())
        {
            ReplicaInbox.Answer(input, $"the replica of shard {Shard} stopped before it took the request: {reason}");
        }
        core?.FailPending(stopped);
    }
}
