using System.Buffers.Binary;
using Akka.Actor;
using Akka.Pattern;
using Google.Protobuf;
using Memo.Node.Raft;
using Memo.Node.Routing;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// One replica of one shard's Raft group on this node: the facade of the actor that puts the shard's commands through
/// the group's log and applies them, in log order, to the shard's state in the silo.
/// </summary>
/// <remarks>
/// <para>Design note (docs/design/shard-groups.md, "The replica actor"). The replica is a <see cref="ShardReplicaActor"/>
/// (the Raft core, the log store, the pending requests: touched only by the actor) under a <see cref="BackoffSupervisor"/>
/// that starts it again from the silo, after 1 s doubling to 60 s (<see cref="ShardGroupOptions.MinRestartBackoff"/>),
/// when an incarnation fails: a commit the disk refused or a broken invariant, after which the in-memory log may be
/// ahead of the disk and nothing more may be acknowledged. This class is what the rest of the node calls: each method
/// queues an input carrying a completion source in the current incarnation's <see cref="ReplicaInbox"/> (which wakes
/// the actor with one message per batch, not per input) and returns its task, so callers see tasks, not actors.</para>
/// <para>Outcomes around a failure. Work the failed incarnation had taken (a proposal appended, a read waiting) fails
/// with <see cref="ShardGroupStoppedException"/>: it may still commit elsewhere. A request that reaches no incarnation
/// (sent between two incarnations, or left queued in the failed one's inbox) is answered
/// <see cref="ShardGroupOutcome.Dropped"/>: it certainly did nothing, so it can be retried. Nothing hangs. After
/// <see cref="DisposeAsync"/> every call throws <see cref="ShardGroupStoppedException"/>.</para>
/// <para>Leaders forward nothing: a replica that is not the leader answers
/// <see cref="ShardGroupOutcome.NotLeader"/> with its leader hint and the router retries there.</para>
/// </remarks>
public sealed partial class ShardGroupReplica : IAsyncDisposable
{
    private const byte AppliedFormat = 1;
    private static long s_instances;

    private readonly IDisposable _tickSubscription;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IActorRef _supervisor = ActorRefs.Nobody;
    // The inbox of the incarnation that takes inputs now; null between incarnations (and before the first is loaded).
    private ReplicaInbox? _current;
    private long _ticksTaken;
    private volatile ShardGroupStatus _status;
    private volatile ShardGroupStoppedException? _disposed;
    private volatile string _restarting = "it has not started yet";
    private volatile Task _lastTurn = Task.CompletedTask;
    // Ticks fired since the actor last took them.
    private int _pendingTicks;

    private ShardGroupReplica(ShardId shard, NodeId node, ShardReplicaSettings settings, IShardTickSource ticks)
    {
        Shard = shard;
        Node = node;
        Settings = settings;
        _status = new ShardGroupStatus(shard, node, RaftRole.Follower, Term.Zero, NodeId.None, LogIndex.Zero, LogIndex.Zero, LogIndex.Zero,
            LogIndex.Zero, LogIndex.Zero, RaftMembership.Empty, "starting");
        _tickSubscription = ticks.Subscribe(OnTick);
    }

    /// <summary>The replica's backoff supervisor (tests ask it for its restart count).</summary>
    internal IActorRef Supervisor => _supervisor;

    /// <summary>What every incarnation of the actor is built from.</summary>
    internal ShardReplicaSettings Settings { get; }

    /// <summary>The shard this group replicates.</summary>
    public ShardId Shard { get; }

    /// <summary>This replica's node.</summary>
    public NodeId Node { get; }

    /// <summary>The replica's state as of its last turn (safe from any thread). Between incarnations its
    /// <see cref="ShardGroupStatus.StopReason"/> says why the last one stopped.</summary>
    public ShardGroupStatus Status => _status;

    /// <summary>
    /// Completes once every write this replica has answered is in the silo. A leader answers a committed write while
    /// the batch holding its application is still on its way to the silo (docs/design/shard-groups.md, "The replica
    /// actor"); a read served from this node's silo without the replica (a stale read) awaits this first, so it sees
    /// the writes this node acknowledged. Usually already complete.
    /// </summary>
    public Task AnsweredWritesStored => Volatile.Read(ref _answeredWritesStored);

    private Task _answeredWritesStored = Task.CompletedTask;

    /// <summary>Called by the actor before it answers writes whose application is still being committed.</summary>
    internal void PublishApplicationInFlight(Task stored) => Volatile.Write(ref _answeredWritesStored, stored);

    /// <summary>
    /// Starts a linearizable read without a turn of the actor, when this replica is its group's only voter and leader,
    /// has applied everything committed, and no turn is running (<see cref="PublishRest"/>); null otherwise,
    /// and the caller takes <see cref="ReadIndexAsync"/>. The task completes once every write this replica answered is
    /// in the silo (<see cref="AnsweredWritesStored"/>); the caller then reads the silo.
    /// </summary>
    /// <remarks>Why this is linearizable (docs/ARCHITECTURE.md, "Read consistency"): ReadIndex at a lone voter answers at
    /// once with its commit index and waits until it is applied, and between turns nothing changes either index, so a
    /// read that finds the flag set (after the turn that set it ended, before the next one cleared it) sees exactly what
    /// ReadIndex would have confirmed. No other node can lead or commit meanwhile: any new voter would enter through a
    /// configuration change this leader proposes, in a turn, which takes the flag down first.</remarks>
    public Task? TryReadAlone()
    {
        if (_rest == (int)ReplicaRest.Working || _disposed is not null)
        {
            return null;
        }
        Interlocked.Increment(ref _readsAlone);
        return AnsweredWritesStored;
    }

    /// <summary>Reads started by <see cref="TryReadAlone"/> so far (tests check which path a read took).</summary>
    internal long ReadsAlone => Interlocked.Read(ref _readsAlone);

    // A ReplicaRest, written by the actor only: Working while a turn runs, and at a turn's end what the replica may do
    // without its actor until the next one.
    private volatile int _rest;
    private long _readsAlone;

    /// <summary>
    /// Called by the actor: <see cref="ReplicaRest.Working"/> when a turn starts or the incarnation stops, and at the end
    /// of a turn what holds until the next one (<see cref="TryReadAlone"/>, <see cref="OnTick"/>).
    /// </summary>
    internal void PublishRest(ReplicaRest rest) => _rest = (int)rest;

    /// <summary>Whether the last turn found nothing a tick could move (<see cref="ReplicaRest.IdleUnderTicks"/>; tests).</summary>
    internal bool IdleUnderTicks => _rest == (int)ReplicaRest.IdleUnderTicks;

    private long _ticksNotWaking;

    /// <summary>Ticks that found the replica idle and did not wake it (tests).</summary>
    internal long TicksNotWaking => Interlocked.Read(ref _ticksNotWaking);

    /// <summary>
    /// Ticks the core has stepped so far. Tests wait on it to know a turn took the ticks queued before it, since
    /// the order of ticks and inputs within a turn is what they check.
    /// </summary>
    internal long TicksTaken => Interlocked.Read(ref _ticksTaken);

    /// <summary>Completes when the replica has been disposed and its last turn has ended.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Incarnations of the actor started so far (1 until a failure restarts it).</summary>
    public int Incarnations => Volatile.Read(ref _incarnations);

    private int _incarnations;

    /// <summary>The metadata name under which the shard's applied index is stored (written with the writes it covers).</summary>
    public static string AppliedKey(ShardId shard) => $"shard-group/{shard.Value}/applied";

    /// <summary>
    /// Starts the replica of <paramref name="shard"/> as an actor of <paramref name="system"/> under its backoff
    /// supervisor, and returns once the first incarnation has loaded from <paramref name="silo"/>. A silo without Raft
    /// state for the shard bootstraps a new group with <paramref name="initialVoters"/> when this node is one of them;
    /// otherwise the replica starts empty (a joining member) and waits for the leader's snapshot. A restarted replica
    /// resumes from the silo and does not re-apply what it had applied.
    /// </summary>
    /// <param name="system">The node's ActorSystem, which hosts the actor (on its default dispatcher: the .NET thread pool).</param>
    /// <param name="shard">The shard.</param>
    /// <param name="layout">The network's shard layout: the state machine refuses commands for records of other shards.</param>
    /// <param name="node">This node; must equal <paramref name="raftConfig"/>'s id.</param>
    /// <param name="initialVoters">The group's initial voters and where they listen (also the first address book).</param>
    /// <param name="silo">The node's silo.</param>
    /// <param name="transport">The node's peer transport (inbound messages arrive through <see cref="Deliver"/>).</param>
    /// <param name="raftConfig">The Raft core's options.</param>
    /// <param name="ticks">Logical time.</param>
    /// <param name="options">The replica's limits.</param>
    /// <param name="logger">Where to log.</param>
    /// <param name="resolveAddress">Finds a member's address when the address book lacks it (the membership view); may be null.</param>
    /// <param name="isPlaced">Whether a node is one of the replicas the ring places the shard on (the membership view); may be null.
    /// Raft messages are admitted from such nodes besides the group's members (<see cref="RaftInputAdmission"/>).</param>
    /// <param name="cancellationToken">Cancels waiting for the first load (the replica is then stopped).</param>
    /// <exception cref="ArgumentException">Invalid options, or the node is not the Raft config's id.</exception>
    public static async Task<ShardGroupReplica> StartAsync(
        ActorSystem system,
        ShardId shard,
        ShardLayout layout,
        NodeId node,
        IReadOnlyDictionary<NodeId, string> initialVoters,
        ISilo silo,
        IPeerTransport transport,
        RaftConfig raftConfig,
        IShardTickSource ticks,
        ShardGroupOptions options,
        ILogger logger,
        Func<NodeId, string?>? resolveAddress = null,
        Func<NodeId, bool>? isPlaced = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(initialVoters);
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(raftConfig);
        ArgumentNullException.ThrowIfNull(ticks);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var errors = options.Validate().ToList();
        if (raftConfig.Id != node)
        {
            errors.Add($"the Raft config's id {raftConfig.Id.Value} is not this node {node.Value}");
        }
        if (shard.Value < 0 || shard.Value >= layout.ShardCount)
        {
            errors.Add($"shard {shard.Value} is not in a layout of {layout.ShardCount} shards");
        }
        if (transport.LocalNode != node)
        {
            errors.Add($"the transport's node {transport.LocalNode.Value} is not this node {node.Value}");
        }
        if (initialVoters.Keys.Any(n => n.IsNone) || initialVoters.Values.Any(string.IsNullOrEmpty))
        {
            errors.Add("initial voters must have non-zero ids and addresses");
        }
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid shard group replica settings: " + string.Join("; ", errors));
        }
        cancellationToken.ThrowIfCancellationRequested();

        var settings = new ShardReplicaSettings(shard, layout, node, initialVoters.ToDictionary(p => p.Key, p => p.Value), silo, transport, raftConfig,
            options, logger, resolveAddress, isPlaced);
        var replica = new ShardGroupReplica(shard, node, settings, ticks);
        // Every stop of the incarnation other than the replica's disposal is a failure and starts another (after the
        // backoff): the silo holds what is durable, and an incarnation rebuilds everything else from it. A failing
        // incarnation logs why and stops itself, so the supervisor only sees it terminate (OnStop); an exception that
        // still reaches the supervisor (a constructor that throws) stops the child too, with the strategy's logging off:
        // Backoff.OnFailure wraps any strategy in one of its own that logs an error per failure.
        var backoff = Backoff.OnStop(ShardReplicaActor.Props(replica), "incarnation", options.MinRestartBackoff, options.MaxRestartBackoff, 0.0, -1)
            .WithAutoReset(options.MaxRestartBackoff)
            .WithSupervisorStrategy(new OneForOneStrategy(-1, -1, _ => Directive.Stop, loggingEnabled: false));
        replica._supervisor = system.ActorOf(BackoffSupervisor.Props(backoff),
            $"shard-{shard.Value}-node-{node.Value:x}-{Interlocked.Increment(ref s_instances)}");
        try
        {
            await replica._started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await replica.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return replica;
    }

    /// <summary>
    /// Proposes <paramref name="command"/> through the group's log. Completes with
    /// <see cref="ShardGroupOutcome.Applied"/> once the command is committed (durable on a majority) and its outcome
    /// decided here; a lone voter answers once the same batch also holds the application, a group of several may answer
    /// while the batch writing the application to this silo is still under way (linearizable reads here still see it:
    /// they are answered after it). A command the state machine refuses is applied as <see cref="ShardResult.Refused"/>
    /// and changes nothing. Otherwise completes with <see cref="ShardGroupOutcome.NotLeader"/>, <see cref="ShardGroupOutcome.Dropped"/>
    /// (also when no incarnation took it: the replica is restarting, or its inbox is full),
    /// <see cref="ShardGroupOutcome.Superseded"/> or <see cref="ShardGroupOutcome.Unknown"/>. A command that names no
    /// record of this shard (another shard's, an unknown kind or format) is answered <see cref="ShardGroupOutcome.Invalid"/>
    /// without entering the log. Cancelling stops the wait; a command already appended may still be applied.
    /// </summary>
    /// <exception cref="ShardGroupStoppedException">The replica was disposed, or the incarnation that took the command stopped.</exception>
    public Task<ShardGroupOutcome> ProposeAsync(ShardCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        // Checked here too so that nothing the state machine would refuse for its target enters the log; every
        // replica checks again when it applies the entry (a hostile leader could append anything).
        if (!ShardStateMachine.TryTarget(command, Shard, Settings.Layout, out _, out var refusal))
        {
            return Task.FromResult<ShardGroupOutcome>(new ShardGroupOutcome.Invalid(refusal.Reason));
        }
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.Queued);
        return EnqueueAsync(new ProposeInput(command.ToByteArray()), cancellationToken);
    }

    /// <summary>
    /// Proposes <paramref name="command"/> as an async write: <see cref="AppendedProposal.Appended"/> completes with
    /// <see cref="ShardGroupOutcome.Appended"/> as soon as this leader's log holds the command durably (before a
    /// majority does), or with the final outcome when that comes first (a refusal, NotLeader, Dropped, or a lone voter
    /// that commits in the same turn); <see cref="AppendedProposal.Outcome"/> completes as <see cref="ProposeAsync"/>
    /// does. A command acknowledged at its append is lost when this leader fails before a majority holds it (its outcome
    /// is then Superseded, Unknown, or a <see cref="ShardGroupStoppedException"/>). Both tasks end when
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <exception cref="ShardGroupStoppedException">The replica was disposed.</exception>
    public AppendedProposal ProposeAcknowledgedAtAppend(ShardCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!ShardStateMachine.TryTarget(command, Shard, Settings.Layout, out _, out var refusal))
        {
            var invalid = Task.FromResult<ShardGroupOutcome>(new ShardGroupOutcome.Invalid(refusal.Reason));
            return new AppendedProposal(invalid, invalid);
        }
        var appended = new TaskCompletionSource<ShardGroupOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var outcome = EnqueueAsync(new ProposeInput(command.ToByteArray(), appended), cancellationToken);
        // Not queued (or refused at once): the outcome is the only answer there will be.
        if (outcome.IsCompleted)
        {
            return new AppendedProposal(outcome, outcome);
        }
        // Whichever comes first: every path that ends a proposal (applied, superseded, a stopped incarnation, an input
        // answered Dropped from the inbox) completes the outcome, so the early answer never waits for a signal that
        // will not come.
        return new AppendedProposal(FirstOfAsync(appended.Task, outcome), outcome);
    }

    // The early answer whenever it was given, even if the final outcome came before this ran: both tasks' continuations
    // run on the thread pool in either order, so WhenAny alone could pick the outcome of a write acknowledged at its append.
    private static async Task<ShardGroupOutcome> FirstOfAsync(Task<ShardGroupOutcome> appended, Task<ShardGroupOutcome> outcome)
    {
        await Task.WhenAny(appended, outcome).ConfigureAwait(false);
        return await (appended.IsCompleted ? appended : outcome).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a linearizable read (Raft thesis §6.4). Completes with <see cref="ShardGroupOutcome.ReadReady"/>
    /// when this replica, still the leader, has applied through the read index: the caller then reads the silo.
    /// A replica that is not the leader answers <see cref="ShardGroupOutcome.NotLeader"/>; a leader that cannot
    /// confirm its leadership (partitioned) answers <see cref="ShardGroupOutcome.NotLeader"/> when it steps down or
    /// <see cref="ShardGroupOutcome.Dropped"/> after <see cref="ShardGroupOptions.ReadTimeoutTicks"/>, never stale data.
    /// </summary>
    public Task<ShardGroupOutcome> ReadIndexAsync(CancellationToken cancellationToken = default) =>
        EnqueueAsync(new ReadInput(), cancellationToken);

    /// <summary>Adds <paramref name="node"/>, listening at <paramref name="address"/>, as a learner. Completes when the change is applied here.</summary>
    public Task<ShardGroupOutcome> AddLearnerAsync(NodeId node, string address, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        return EnqueueAsync(new ConfigInput(new ConfigChange(ConfigChangeKind.AddLearner, node), address), cancellationToken);
    }

    /// <summary>Promotes the learner <paramref name="node"/> to voter. Completes when the change is applied here.</summary>
    public Task<ShardGroupOutcome> PromoteLearnerAsync(NodeId node, CancellationToken cancellationToken = default) =>
        EnqueueAsync(new ConfigInput(new ConfigChange(ConfigChangeKind.PromoteLearner, node), null), cancellationToken);

    /// <summary>Removes <paramref name="node"/> (voter or learner) from the group. Completes when the change is applied here.</summary>
    public Task<ShardGroupOutcome> RemoveMemberAsync(NodeId node, CancellationToken cancellationToken = default) =>
        EnqueueAsync(new ConfigInput(new ConfigChange(ConfigChangeKind.Remove, node), null), cancellationToken);

    /// <summary>Asks this leader to hand leadership to <paramref name="target"/> (a voter).</summary>
    public Task<ShardGroupOutcome> TransferLeadershipAsync(NodeId target, CancellationToken cancellationToken = default) =>
        EnqueueAsync(new TransferInput(target), cancellationToken);

    /// <summary>The Raft core's full status (with the leader's view of each follower's progress), taken by the actor.</summary>
    /// <exception cref="ShardGroupStoppedException">The replica was disposed, or is between incarnations.</exception>
    public async Task<RaftStatus> GetRaftStatusAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var input = new StatusInput();
        if (Volatile.Read(ref _current) is not { } current)
        {
            throw new ShardGroupStoppedException($"Shard {Shard} replica on node {Node.Value} is restarting: {_restarting}");
        }
        try
        {
            // Waits for room: a status call is rare and must not fail because Raft traffic fills the inbox.
            await current.PostAsync(input, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            throw new ShardGroupStoppedException($"Shard {Shard} replica on node {Node.Value} is restarting: {_restarting}");
        }
        return await input.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands a Raft message received from <paramref name="from"/> to the replica. Never blocks: when the inbox is
    /// full, or no incarnation runs, the message is dropped (Raft retransmits). Returns false when dropped.
    /// </summary>
    public bool Deliver(NodeId from, ReadOnlyMemory<byte> body) =>
        Volatile.Read(ref _current) is { } current && current.TryPost(new InboundInput(from, body));

    // Runs on the node's tick timer: counts the tick and makes sure one wake-up is on its way. A stalled actor (a slow
    // commit) then finds several ticks at its next turn instead of an inbox full of them.
    // A replica with nothing a tick could move (ReplicaRest.IdleUnderTicks) is not woken: the tick is only counted, and its
    // next turn, woken by an input, steps it (at most MaxTicksPerTurn of them, like after a stall).
    private void OnTick()
    {
        Interlocked.Increment(ref _pendingTicks);
        if (_rest == (int)ReplicaRest.IdleUnderTicks)
        {
            Interlocked.Increment(ref _ticksNotWaking);
            return;
        }
        Volatile.Read(ref _current)?.Wake();
    }

    private Task<ShardGroupOutcome> EnqueueAsync(ReplicaRequest input, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<ShardGroupOutcome>(cancellationToken);
        }
        var current = Volatile.Read(ref _current);
        if (current is null || !current.TryPost(input))
        {
            // Not queued, so it did nothing: the router may retry it here later or elsewhere.
            return Task.FromResult<ShardGroupOutcome>(new ShardGroupOutcome.Dropped(current is null || current.IsClosed
                ? $"the replica of shard {Shard} is restarting: {_restarting}"
                : $"the replica of shard {Shard} has {Settings.Options.MailboxCapacity} inputs queued"));
        }
        return cancellationToken.CanBeCanceled ? input.Completion.Task.WaitAsync(cancellationToken) : input.Completion.Task;
    }

    private void ThrowIfDisposed()
    {
        if (_disposed is { } disposed)
        {
            throw new ShardGroupStoppedException(disposed.Message);
        }
    }

    // --- Called by the incarnations (on their actor's thread) ---

    /// <summary>An incarnation loaded from the silo and takes inputs from now on.</summary>
    internal void Attach(ReplicaInbox incarnation, ShardGroupStatus status)
    {
        Interlocked.Increment(ref _incarnations);
        _status = status;
        Volatile.Write(ref _current, incarnation);
        _started.TrySetResult();
    }

    /// <summary>Whether ticks fired that the actor has not taken yet.</summary>
    internal bool HasPendingTicks => Volatile.Read(ref _pendingTicks) > 0;

    /// <summary>The ticks fired since the last call (the actor takes them in its turn).</summary>
    internal int TakeTicks() => Interlocked.Exchange(ref _pendingTicks, 0);

    /// <summary>The actor stepped <paramref name="ticks"/> ticks into the core (<see cref="TicksTaken"/>).</summary>
    internal void CountTicksStepped(int ticks) => Interlocked.Add(ref _ticksTaken, ticks);

    /// <summary>The incarnation's state after a turn.</summary>
    internal void Publish(ShardGroupStatus status) => _status = status;

    /// <summary>Loading failed; the first one fails <see cref="StartAsync"/>.</summary>
    internal void LoadFailed(Exception cause) => _started.TrySetException(cause);

    /// <summary>An incarnation stopped (failed or disposed); <paramref name="lastTurn"/> completes when its last turn has.</summary>
    internal void Detach(ReplicaInbox incarnation, ShardGroupStatus status, string reason, Task lastTurn)
    {
        _rest = (int)ReplicaRest.Working;
        Interlocked.CompareExchange(ref _current, null, incarnation);
        _restarting = reason;
        _status = status;
        _lastTurn = lastTurn;
    }

    /// <summary>Stops the replica: its actor and supervisor stop, pending requests fail with
    /// <see cref="ShardGroupStoppedException"/> and later calls throw it. What is durable stays.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed is not null)
        {
            await _completion.Task.ConfigureAwait(false);
            return;
        }
        _disposed = new ShardGroupStoppedException($"Shard {Shard} replica on node {Node.Value} was disposed.");
        _rest = (int)ReplicaRest.Working;
        _tickSubscription.Dispose();
        Volatile.Write(ref _current, null);
        if (!_supervisor.IsNobody())
        {
            try
            {
                // The supervisor stops its incarnation first; the incarnation's PostStop fails what it had taken.
                await _supervisor.GracefulStop(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
            catch (TaskCanceledException)
            {
                // The ActorSystem is gone or too slow: nothing more will run on the actor either way.
            }
        }
        // A commit in flight is not cancellable; the silo must not be closed (or the shard cleared) under it.
        await _lastTurn.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _started.TrySetException(_disposed);
        _ = _started.Task.Exception; // observed: a replica disposed before it started
        _completion.TrySetResult();
    }

    /// <summary>
    /// Stages the removal of everything this node holds of <paramref name="shard"/>'s group: records, Raft state,
    /// log, snapshot; the applied index is reset so that a later replica of the shard starts empty.
    /// </summary>
    public static void StageClear(ShardId shard, SiloBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.ClearShard(shard);
        batch.PutMeta(AppliedKey(shard), EncodeApplied(LogIndex.Zero));
    }

    internal static byte[] EncodeApplied(LogIndex applied)
    {
        var bytes = new byte[9];
        bytes[0] = AppliedFormat;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(1), applied.Value);
        return bytes;
    }

    internal static LogIndex DecodeApplied(byte[]? bytes)
    {
        if (bytes is null)
        {
            return LogIndex.Zero;
        }
        RaftInvariantException.ThrowIf(bytes.Length != 9 || bytes[0] != AppliedFormat, "unknown or truncated applied-index record");
        return new LogIndex(BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(1)));
    }
}

/// <summary>What every incarnation of a replica actor is built from (immutable; the initial voters are a copy).</summary>
internal sealed record ShardReplicaSettings(
    ShardId Shard,
    ShardLayout Layout,
    NodeId Node,
    Dictionary<NodeId, string> InitialVoters,
    ISilo Silo,
    IPeerTransport Transport,
    RaftConfig RaftConfig,
    ShardGroupOptions Options,
    ILogger Logger,
    Func<NodeId, string?>? ResolveAddress,
    Func<NodeId, bool>? IsPlaced);
