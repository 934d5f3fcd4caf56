using System.Buffers.Binary;
using System.Threading.Channels;
using Google.Protobuf;
using Memo.Node.Raft;
using Memo.Node.Routing;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// One replica of one shard's Raft group on this node: the actor that puts the shard's commands through the
/// group's log and applies them, in log order, to the shard's state in the silo.
/// </summary>
/// <remarks>
/// <para>Design note (docs/design/shard-groups.md). One bounded mailbox, one loop, no locks; nothing else
/// touches the <see cref="RaftNode"/>, the log store or the pending requests. A turn drains inputs (proposals,
/// reads, inbound Raft messages, membership and transfer requests, ticks), then handles the core's Ready in the
/// contract's order: send the leader's early messages; stage the Ready's snapshot, entries and hard state
/// (<see cref="SiloRaftStorage.Stage"/>) <em>and</em> the state-machine writes of its committed entries, decided
/// with <see cref="ShardStateMachine"/> against stored state plus the turn's overlay, with the applied index, into
/// ONE <see cref="SiloBatch"/>; commit it (the silo group-commits across the node's shards); send the messages
/// that promise durable state; complete the proposals and reads now applied; <see cref="RaftNode.Advance"/>.</para>
/// <para>Invariants: the applied index is written in the same batch as the writes it covers, so a restart
/// neither re-applies nor skips a command; a snapshot install clears the shard and writes the snapshot's records
/// in the same batch as the log reset. A <see cref="RaftInvariantException"/> or a failed commit stops the replica
/// (the in-memory log already reflects the staged writes): pending work fails with
/// <see cref="ShardGroupStoppedException"/>, new work is refused.</para>
/// <para>Leaders forward nothing: a replica that is not the leader answers
/// <see cref="ShardGroupOutcome.NotLeader"/> with its leader hint and the router retries there.</para>
/// </remarks>
public sealed partial class ShardGroupReplica : IAsyncDisposable
{
    private const byte AppliedFormat = 1;

    private readonly Channel<Input> _mailbox;
    private readonly ISilo _silo;
    private readonly ShardLayout _layout;
    private readonly IPeerTransport _transport;
    private readonly ShardGroupOptions _options;
    private readonly ILogger _logger;
    private readonly Func<NodeId, string?>? _resolveAddress;
    private readonly Func<NodeId, bool>? _isPlaced;
    private readonly CancellationTokenSource _stopping = new();
    private readonly IDisposable _tickSubscription;
    private readonly Task _loop;
    private int _pendingTicks;
    private long _ticksTaken;
    private int _wakePosted;
    private volatile ShardGroupStatus _status;
    private volatile ShardGroupStoppedException? _stopped;

    // Loop state: touched only by the loop.
    private readonly RaftNode _raft;
    private readonly SiloRaftStorage _storage;
    private readonly Dictionary<NodeId, string> _peers;
    private readonly Dictionary<LogIndex, PendingProposal> _proposals = [];
    private readonly Dictionary<ulong, PendingRead> _reads = [];
    private readonly Dictionary<ShardRecordKey, byte[]?> _overlay = [];
    private bool _overlayIsWholeShard;
    private LogIndex _applied;
    private ulong _nextReadId;
    // Reads taken this turn, waiting for one shared ReadIndex at the end of the turn (FlushReads).
    private List<TaskCompletionSource<ShardGroupOutcome>>? _unsentReads;
    private int _pendingReadCount;
    private LogIndex _snapshotRefusedAt;
    private readonly long _clockOrigin;
    private long _refusedMessages;

    private ShardGroupReplica(
        ShardId shard, ShardLayout layout, NodeId node, ISilo silo, IPeerTransport transport, RaftNode raft, SiloRaftStorage storage, LogIndex applied,
        Dictionary<NodeId, string> peers, Func<NodeId, string?>? resolveAddress, Func<NodeId, bool>? isPlaced, IShardTickSource ticks, ShardGroupOptions options, ILogger logger)
    {
        Shard = shard;
        _layout = layout;
        Node = node;
        _silo = silo;
        _transport = transport;
        _raft = raft;
        _storage = storage;
        _applied = applied;
        _peers = peers;
        _resolveAddress = resolveAddress;
        _isPlaced = isPlaced;
        _options = options;
        _logger = logger;
        _clockOrigin = options.Time.GetTimestamp();
        _mailbox = Channel.CreateBounded<Input>(new BoundedChannelOptions(options.MailboxCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _status = MakeStatus();
        _tickSubscription = ticks.Subscribe(OnTick);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The shard this group replicates.</summary>
    public ShardId Shard { get; }

    /// <summary>This replica's node.</summary>
    public NodeId Node { get; }

    /// <summary>The replica's state as of its last turn (safe from any thread).</summary>
    public ShardGroupStatus Status => _status;

    /// <summary>
    /// Ticks the core has stepped so far. Tests wait on it to know a turn took the ticks queued before it, since
    /// the order of ticks and inputs within a turn is what they check.
    /// </summary>
    internal long TicksTaken => Interlocked.Read(ref _ticksTaken);

    /// <summary>Completes when the loop has ended (after disposal, or after the replica stopped on a fault).</summary>
    public Task Completion => _loop;

    /// <summary>The metadata name under which the shard's applied index is stored (written with the writes it covers).</summary>
    public static string AppliedKey(ShardId shard) => $"shard-group/{shard.Value}/applied";

    /// <summary>
    /// Loads (or creates) the replica of <paramref name="shard"/> on <paramref name="silo"/> and starts its loop.
    /// A silo without Raft state for the shard bootstraps a new group with <paramref name="initialVoters"/> when
    /// this node is one of them; otherwise the replica starts empty (a joining member) and waits for the leader's
    /// snapshot. A restarted replica resumes from the silo and does not re-apply what it had applied.
    /// </summary>
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
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <exception cref="ArgumentException">Invalid options, or the node is not the Raft config's id.</exception>
    public static async Task<ShardGroupReplica> StartAsync(
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

        var storage = await SiloRaftStorage.LoadAsync(silo, shard, cancellationToken).ConfigureAwait(false);
        var applied = DecodeApplied(await silo.ReadMetaAsync(AppliedKey(shard), cancellationToken).ConfigureAwait(false));
        if (storage.Snapshot.Metadata.Membership.Voters.IsEmpty && storage.LastIndex == LogIndex.Zero && initialVoters.ContainsKey(node))
        {
            var batch = new SiloBatch();
            storage = options.BootstrapWithSnapshot
                ? SiloRaftStorage.BootstrapWithSnapshot(shard, RaftMembership.Create(initialVoters.Keys), ShardSnapshotCodec.Empty(), batch)
                : SiloRaftStorage.Bootstrap(shard, RaftMembership.Create(initialVoters.Keys), batch);
            applied = storage.Snapshot.Index;
            batch.PutMeta(AppliedKey(shard), EncodeApplied(applied));
            await silo.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        // The snapshot is applied state too (installed in the batch that wrote it).
        applied = LogIndex.Max(applied, storage.Snapshot.Index);
        var raft = new RaftNode(raftConfig, storage, applied);
        if (raft.Membership.Voters.Length == 1 && raft.Membership.IsVoter(node))
        {
            // The only voter need not wait out an election timeout: nobody else can lead this group.
            raft.Campaign();
        }
        var peers = initialVoters.Where(p => p.Key != node).ToDictionary(p => p.Key, p => p.Value);
        return new ShardGroupReplica(shard, layout, node, silo, transport, raft, storage, applied, peers, resolveAddress, isPlaced, ticks, options, logger);
    }

    /// <summary>
    /// Proposes <paramref name="command"/> through the group's log. Completes with
    /// <see cref="ShardGroupOutcome.Applied"/> once the command is committed and applied here (durable on a
    /// majority and in this silo; a command the state machine refuses is applied as <see cref="ShardResult.Refused"/>
    /// and changes nothing), or with <see cref="ShardGroupOutcome.NotLeader"/>, <see cref="ShardGroupOutcome.Dropped"/>,
    /// <see cref="ShardGroupOutcome.Superseded"/> or <see cref="ShardGroupOutcome.Unknown"/>. A command that names no
    /// record of this shard (another shard's, an unknown kind or format) is answered <see cref="ShardGroupOutcome.Invalid"/>
    /// without entering the log. Cancelling stops the wait; a command already appended may still be applied.
    /// </summary>
    /// <exception cref="ShardGroupStoppedException">The replica has stopped.</exception>
    public Task<ShardGroupOutcome> ProposeAsync(ShardCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        // Checked here too so that nothing the state machine would refuse for its target enters the log; every
        // replica checks again when it applies the entry (a hostile leader could append anything).
        if (!ShardStateMachine.TryTarget(command, Shard, _layout, out _, out var refusal))
        {
            return Task.FromResult<ShardGroupOutcome>(new ShardGroupOutcome.Invalid(refusal.Reason));
        }
        return EnqueueAsync(new ProposeInput(command.ToByteArray()), cancellationToken);
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

    /// <summary>The Raft core's full status (with the leader's view of each follower's progress), taken in the loop.</summary>
    public async Task<RaftStatus> GetRaftStatusAsync(CancellationToken cancellationToken = default)
    {
        var input = new StatusInput();
        ThrowIfStopped();
        try
        {
            await _mailbox.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            ThrowIfStopped();
            throw new ShardGroupStoppedException($"Shard {Shard} replica is stopping.");
        }
        return await input.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands a Raft message received from <paramref name="from"/> to the replica. Never blocks: when the mailbox is
    /// full the message is dropped (Raft retransmits). Returns false when dropped.
    /// </summary>
    public bool Deliver(NodeId from, ReadOnlyMemory<byte> body) =>
        _stopped is null && _mailbox.Writer.TryWrite(new InboundInput(from, body));

    private void OnTick()
    {
        Interlocked.Increment(ref _pendingTicks);
        if (Interlocked.Exchange(ref _wakePosted, 1) == 0 && !_mailbox.Writer.TryWrite(Input.Wake))
        {
            // The mailbox is full, so a turn is coming anyway and will take the ticks.
            Volatile.Write(ref _wakePosted, 0);
        }
    }

    private async Task<ShardGroupOutcome> EnqueueAsync(Request input, CancellationToken cancellationToken)
    {
        ThrowIfStopped();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (!_mailbox.Writer.TryWrite(input))
            {
                await _mailbox.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ChannelClosedException)
        {
            ThrowIfStopped();
            throw new ShardGroupStoppedException($"Shard {Shard} replica is stopping.");
        }
        return await input.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void ThrowIfStopped()
    {
        if (_stopped is { } stopped)
        {
            throw new ShardGroupStoppedException(stopped.Message, stopped.InnerException);
        }
    }

    /// <summary>Stops the loop: pending requests fail with <see cref="ShardGroupStoppedException"/>. What is durable stays.</summary>
    public async ValueTask DisposeAsync()
    {
        _tickSubscription.Dispose();
        _mailbox.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stopping.Dispose();
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

    private static byte[] EncodeApplied(LogIndex applied)
    {
        var bytes = new byte[9];
        bytes[0] = AppliedFormat;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(1), applied.Value);
        return bytes;
    }

    private static LogIndex DecodeApplied(byte[]? bytes)
    {
        if (bytes is null)
        {
            return LogIndex.Zero;
        }
        RaftInvariantException.ThrowIf(bytes.Length != 9 || bytes[0] != AppliedFormat, "unknown or truncated applied-index record");
        return new LogIndex(BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(1)));
    }

    private ShardGroupStatus MakeStatus() => new(
        Shard, Node, _raft.Role, _raft.Term, _raft.Leader, _raft.CommitIndex, _applied, _storage.FirstIndex, _raft.LastIndex,
        _storage.Snapshot.Index, _raft.Membership, _stopped?.Message);

    private abstract class Input
    {
        public static readonly Input Wake = new WakeInput();
    }

    // A caller's request: answered with an outcome.
    private abstract class Request : Input
    {
        public TaskCompletionSource<ShardGroupOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class WakeInput : Input;

    private sealed class ProposeInput(byte[] data) : Request
    {
        public byte[] Data { get; } = data;
    }

    private sealed class ReadInput : Request;

    private sealed class ConfigInput(ConfigChange change, string? address) : Request
    {
        public ConfigChange Change { get; } = change;
        public string? Address { get; } = address;
    }

    private sealed class TransferInput(NodeId target) : Request
    {
        public NodeId Target { get; } = target;
    }

    private sealed class StatusInput : Input
    {
        public TaskCompletionSource<RaftStatus> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class InboundInput(NodeId from, ReadOnlyMemory<byte> body) : Input
    {
        public NodeId From { get; } = from;
        public ReadOnlyMemory<byte> Body { get; } = body;
    }

    private sealed record PendingProposal(Term Term, TaskCompletionSource<ShardGroupOutcome> Completion);

    // One ReadIndex confirmation shared by every read that arrived in the same turn.
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
