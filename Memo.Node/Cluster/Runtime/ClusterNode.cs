using System.Collections.Immutable;
using System.Threading.Channels;
using Memo.Node.Transport;
using Memo.Protocol.Cluster;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Cluster.Runtime;

// Design note: the membership actor (docs/design/cluster.md, "Runtime").
//
// One bounded mailbox, one loop; nothing else touches the membership state, the failure detectors or the downing
// bookkeeping. The loop wires the pure cores exactly as tests/Memo.Node.Tests/Cluster/SimulatedCluster.cs does:
//   tick       -> heartbeat every member (every heartbeat interval), turn detector verdicts into Mark(Un)Reachable,
//                 gossip with one target (every gossip interval), leader actions, keep-majority downing;
//   gossip in  -> heartbeats feed the detectors; statuses and envelopes go through GossipProtocol;
//   admin      -> join admission, leave, down: changes made by this node on its own copy.
// Time comes from a TimeProvider and becomes logical milliseconds at the edge (Now()); the cores never see a clock.
// Randomness (gossip targets) comes from one seeded DeterministicRandom. After every batch of inputs that changed the
// state the loop records it durably (when the version moved) and publishes an immutable ClusterView through a
// volatile field, so routing and shards read it without locks.
//
// Joining is the one exchange outside the loop: a background task asks the seeds in turn (unary AdmitMember) with
// exponential back-off and posts the admitted state to the mailbox, where it is merged like any gossip.

/// <summary>
/// This node's membership runtime: gossip, failure detection, leader actions and downing around the pure cores of
/// <c>Memo.Node.Cluster</c>, publishing a <see cref="ClusterView"/> after every change.
/// </summary>
/// <remarks>Thread safety: every public member may be called from any thread; all state changes happen on the
/// actor's loop.</remarks>
public sealed partial class ClusterNode : IAsyncDisposable
{
    private const int MaxInputsPerTurn = 256;

    private readonly Member _selfRecord;
    private readonly ImmutableArray<string> _seeds;
    private readonly ClusterRuntimeOptions _options;
    private readonly IPeerTransport _transport;
    private readonly IClusterJoinChannel _joinChannel;
    private readonly IClusterStore? _store;
    private readonly TimeProvider _time;
    private readonly DeterministicRandom _random;
    private readonly ILogger _logger;
    private readonly Channel<Input> _mailbox;
    private readonly CancellationTokenSource _stopping = new();
    private readonly FailureDetectorRegistry _detectors;
    private readonly long _startTimestamp;
    private readonly Lock _viewLock = new();

    private MembershipState _state;
    private NetworkParameters _network;
    private ImmutableSortedDictionary<NodeId, long> _unreachableSince = ImmutableSortedDictionary<NodeId, long>.Empty;
    private DowningDecision _decision = new DowningDecision.Stable();
    private VersionVector _persistedVersion = VersionVector.Empty;
    private NetworkParameters _persistedNetwork;
    private string? _joinProblem;
    private long _nextHeartbeat;
    private long _nextGossip;
    private bool _lastClamped;
    private volatile ClusterView _view;
    private Task? _loop;
    private Task? _ticker;
    private Task? _joiner;
    private CancellationTokenSource? _joinCancel;
    private int _started;
    private int _disposed;

    /// <summary>Creates the runtime; nothing runs until <see cref="Start"/>.</summary>
    /// <param name="self">This node's record as it joins: id, advertised address, ring tokens, roles.</param>
    /// <param name="network">The network parameters recorded for this node (adopted from the cluster on join).</param>
    /// <param name="restored">The membership state recorded at the last run; null on a first start.</param>
    /// <param name="seeds">Nodes to join through (<c>memo.node.seeds</c>). Empty, or a first seed equal to this node's
    /// address, forms a new cluster when there is no <paramref name="restored"/> state.</param>
    /// <param name="options">Timing and limits.</param>
    /// <param name="transport">Where gossip and heartbeats are sent; the owner delivers inbound gossip with
    /// <see cref="Deliver"/>.</param>
    /// <param name="joinChannel">How join requests reach a seed.</param>
    /// <param name="store">Where the state is recorded; null keeps it in memory only.</param>
    /// <param name="time">The clock, turned into logical milliseconds.</param>
    /// <param name="seed">Seed of the gossip-target PRNG.</param>
    /// <param name="loggerFactory">Logging.</param>
    public ClusterNode(
        Member self,
        NetworkParameters network,
        MembershipState? restored,
        ImmutableArray<string> seeds,
        ClusterRuntimeOptions options,
        IPeerTransport transport,
        IClusterJoinChannel joinChannel,
        IClusterStore? store,
        TimeProvider time,
        ulong seed,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(joinChannel);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new ArgumentException("Invalid cluster options: " + string.Join("; ", problems), nameof(options));
        }
        if (transport.LocalNode != self.Id)
        {
            throw new ArgumentException($"The transport is node {transport.LocalNode}, the member record {self.Id}.", nameof(transport));
        }
        _selfRecord = self;
        _network = network;
        _seeds = seeds.IsDefault ? [] : seeds;
        _options = options;
        _transport = transport;
        _joinChannel = joinChannel;
        _store = store;
        _time = time;
        _random = new DeterministicRandom(seed);
        _logger = loggerFactory.CreateLogger<ClusterNode>();
        _detectors = new FailureDetectorRegistry(options.Core.FailureDetector);
        _startTimestamp = time.GetTimestamp();
        _mailbox = Channel.CreateBounded<Input>(new BoundedChannelOptions(options.MailboxCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _state = restored ?? MembershipState.Empty;
        _persistedVersion = _state.Version;
        _persistedNetwork = network;
        _view = BuildView(0);
    }

    /// <summary>The latest published view; a volatile read, safe from any thread.</summary>
    public ClusterView View => _view;

    /// <summary>This node's id.</summary>
    public NodeId Self => _selfRecord.Id;

    /// <summary>
    /// Raised on the actor's loop after every published view. Handlers must return quickly and must not call back
    /// into this node synchronously (post work elsewhere); an exception from a handler is logged and ignored.
    /// </summary>
    public event Action<ClusterView>? ViewChanged;

    /// <summary>
    /// Which Leaving members have handed their shard replicas off and may move to Exiting; consulted by the leader on
    /// every convergence. Null (the default) means all of them (Akka's behaviour). Set it before <see cref="Start"/>
    /// or at any time; it is called on the actor's loop and must not block.
    /// </summary>
    public Func<IReadOnlySet<NodeId>?>? ExitReady { get; set; }

    /// <summary>Starts the loop, the ticker and, when this node is not yet a member, forming or joining.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The cluster node is already started.");
        }
        _loop = Task.Run(() => RunAsync(_stopping.Token));
        _ticker = Task.Run(() => TickAsync(_stopping.Token));
        if (!_state.Members.ContainsKey(Self))
        {
            if (_seeds.IsEmpty || _seeds[0] == _selfRecord.Address)
            {
                _mailbox.Writer.TryWrite(new Input.Form());
            }
            else
            {
                StartJoining(_seeds);
            }
        }
        else
        {
            LogResumed(_logger, Self, _state.StatusOf(Self)!.Value, _state.Members.Count);
        }
    }

    /// <summary>Hands a message of the gossip channel to the loop; false when the mailbox is full (the message is
    /// dropped, as the transport would drop it: gossip repeats).</summary>
    public bool Deliver(InboundPeerMessage message) =>
        message.Message.Channel == PeerChannelKind.Gossip && _mailbox.Writer.TryWrite(new Input.Gossip(message));

    /// <summary>Answers a node asking to join (the AdmitMember call).</summary>
    public Task<AdmitResult> AdmitAsync(AdmitMemberRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Ask<AdmitResult>(reply => new Input.Admit(request, reply), cancellationToken);
    }

    /// <summary>Moves a member (by hex id or address; null or empty: this node) to Leaving.</summary>
    public Task<ClusterCommandResult> LeaveAsync(string? node, CancellationToken cancellationToken) =>
        Ask<ClusterCommandResult>(reply => new Input.Change(node, MemberStatus.Leaving, reply), cancellationToken);

    /// <summary>Declares a member (by hex id or address) Down.</summary>
    public Task<ClusterCommandResult> DownAsync(string node, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        return Ask<ClusterCommandResult>(reply => new Input.Change(node, MemberStatus.Down, reply), cancellationToken);
    }

    /// <summary>
    /// Joins the cluster of the node at <paramref name="seed"/>. Allowed while this node is not a member yet, or is the
    /// only member of a cluster it formed itself (that cluster is abandoned); refused otherwise.
    /// </summary>
    public Task<ClusterCommandResult> JoinAsync(string seed, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(seed);
        return Ask<ClusterCommandResult>(reply => new Input.JoinThrough(seed, reply), cancellationToken);
    }

    /// <summary>Completes with the first published view that satisfies <paramref name="predicate"/> (the current one
    /// if it does).</summary>
    public async Task<ClusterView> WaitForViewAsync(Func<ClusterView, bool> predicate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var found = new TaskCompletionSource<ClusterView>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnView(ClusterView view)
        {
            if (predicate(view))
            {
                found.TrySetResult(view);
            }
        }
        ViewChanged += OnView;
        try
        {
            OnView(_view);
            using var registration = cancellationToken.Register(() => found.TrySetCanceled(cancellationToken));
            return await found.Task.ConfigureAwait(false);
        }
        finally
        {
            ViewChanged -= OnView;
        }
    }

    /// <summary>Stops gossiping (without leaving: use <see cref="LeaveAsync"/> first for a graceful exit) and waits for
    /// the loop, the ticker and the joiner to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _mailbox.Writer.TryComplete();
        foreach (var task in new[] { _loop, _ticker, _joiner })
        {
            if (task is not null)
            {
                try
                {
                    await task.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Expected: the token we just cancelled.
                }
            }
        }
        _joinCancel?.Dispose();
        _stopping.Dispose();
    }

    private async Task<T> Ask<T>(Func<TaskCompletionSource<T>, Input> make, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Requests wait for room (unlike gossip, which is dropped): an operator's command must not vanish.
        await _mailbox.Writer.WriteAsync(make(reply), cancellationToken).ConfigureAwait(false);
        using var registration = cancellationToken.Register(() => reply.TrySetCanceled(cancellationToken));
        return await reply.Task.ConfigureAwait(false);
    }

    /// <summary>Logical milliseconds since this runtime started: the only clock the cores see.</summary>
    private long Now() => (long)_time.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    private abstract record Input
    {
        public sealed record Tick : Input;

        public sealed record Form : Input;

        public sealed record Gossip(InboundPeerMessage Message) : Input;

        public sealed record Admit(AdmitMemberRequest Request, TaskCompletionSource<AdmitResult> Reply) : Input;

        public sealed record Admitted(AdmitMemberResponse Response, MembershipState State) : Input;

        public sealed record JoinFailed(string Problem) : Input;

        public sealed record Change(string? Node, MemberStatus To, TaskCompletionSource<ClusterCommandResult> Reply) : Input;

        public sealed record JoinThrough(string Seed, TaskCompletionSource<ClusterCommandResult> Reply) : Input;
    }
}
