namespace Memo.Node.Raft;

/// <summary>
/// One replica of one Raft group, as a pure deterministic state machine in the style of etcd-io/raft.
/// </summary>
/// <remarks>
/// <para>Design note. Inputs are <see cref="Step"/> (a message from a peer), <see cref="Tick"/> (one unit of
/// logical time), <see cref="Propose"/>, <see cref="ProposeConfigChange"/>, <see cref="ReadIndex"/>,
/// <see cref="TransferLeadership"/> and <see cref="Campaign"/>. Outputs are collected in a <see cref="Raft.Ready"/>
/// (<see cref="GetReady"/>), which the host persists, sends and applies before calling <see cref="Advance"/>.
/// The core performs no I/O, reads no clock, starts no thread and draws randomness only from its seeded PRNG, so the
/// same inputs always give the same outputs (the simulator relies on this to replay a run from its seed).</para>
/// <para>It follows the Raft paper (Ongaro &amp; Ousterhout 2014) and thesis: PreVote and CheckQuorum (thesis §9.6),
/// fast log back-off with conflict hints, pipelined appends bounded by inflight limits, commit by quorum of
/// current-term entries only (§5.4.2), snapshots (§7), ReadIndex (thesis §6.4), leadership transfer (thesis §3.10)
/// and single-server membership changes with learners (thesis §4.1-4.2), where a replica always uses the latest
/// configuration in its log, committed or not.</para>
/// <para>Invariants checked always (a violation throws <see cref="RaftInvariantException"/> and the replica must
/// stop): the term never decreases; at most one leader per term is ever seen; committed entries are never
/// truncated; commit never passes the last index; applied never passes commit; entry terms never decrease along
/// the log.</para>
/// <para>Not thread-safe: one owner (the shard replica actor) calls it.</para>
/// </remarks>
public sealed partial class RaftNode
{
    private readonly RaftConfig _config;
    private readonly DeterministicRandom _random;
    private readonly RaftLog _log;
    private readonly List<RaftMessage> _messages = [];
    private readonly List<ReadState> _readStates = [];
    private readonly Dictionary<NodeId, Progress> _progress = [];
    private readonly Dictionary<NodeId, bool> _votes = [];
    private HardState _persistedHardState;
    private Ready? _outstanding;
    private int _electionElapsed;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;

    // Ticks since a leader that is a known member was last heard (see RaftInputAdmission). Not reset by Reset: a
    // replica that keeps campaigning without winning has heard no leader all the same.
    private int _ticksWithoutMemberLeader;

    /// <summary>
    /// Starts (or restarts) a replica from what <paramref name="store"/> holds. A new group's store is bootstrapped
    /// with its initial configuration; a replica joining an existing group starts from an empty store and learns
    /// the configuration from the leader. <paramref name="applied"/> is the index the host's state machine has
    /// durably applied (at least the snapshot index is assumed).
    /// </summary>
    public RaftNode(RaftConfig config, IRaftLogStore store, LogIndex applied = default)
    {
        var errors = config.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid Raft configuration: " + string.Join("; ", errors), nameof(config));
        }

        _config = config;
        _random = new DeterministicRandom(config.RandomSeed ^ (config.Id.Value * 0x9E3779B97F4A7C15UL));
        _log = new RaftLog(store, applied);
        var hardState = store.HardState;
        Term = hardState.Term;
        Vote = hardState.Vote;
        _persistedHardState = hardState;
        LoadMembership(store);
        BecomeFollower(Term, NodeId.None);
    }

    /// <summary>This replica's id.</summary>
    public NodeId Id => _config.Id;

    /// <summary>The current term.</summary>
    public Term Term { get; private set; }

    /// <summary>The vote cast in the current term (None if none).</summary>
    public NodeId Vote { get; private set; }

    /// <summary>The leader of the current term as known here (None if unknown).</summary>
    public NodeId Leader { get; private set; }

    /// <summary>This replica's role.</summary>
    public RaftRole Role { get; private set; }

    /// <summary>The highest index known committed.</summary>
    public LogIndex CommitIndex => _log.Committed;

    /// <summary>The highest index the host has applied (as acknowledged through <see cref="Advance"/>).</summary>
    public LogIndex AppliedIndex => _log.Applied;

    /// <summary>The index of the last entry in the log (durable or not).</summary>
    public LogIndex LastIndex => _log.LastIndex;

    private RaftFaults Faults => _config.Faults;

    private bool Promotable => Membership.IsVoter(Id);

    /// <summary>Advances logical time by one tick: elections for followers and candidates, heartbeats and quorum checks for leaders.</summary>
    public void Tick()
    {
        CountStartupTick();
        if (Role == RaftRole.Leader)
        {
            _ticksWithoutMemberLeader = 0;
            TickLeader();
        }
        else
        {
            _ticksWithoutMemberLeader = _ticksWithoutMemberLeader < int.MaxValue ? _ticksWithoutMemberLeader + 1 : int.MaxValue;
            TickElection();
        }
    }

    /// <summary>
    /// Whether the host should hand <paramref name="message"/>, received from a peer, to <see cref="Step"/>: only
    /// messages from members of the group, with the exceptions that keep a replica with a stale configuration live
    /// (<see cref="RaftInputAdmission"/>). <paramref name="isPlaced"/> tells whether a node is one of the replicas the
    /// cluster's placement assigns to the group, when the host has a placement. A query: nothing changes.
    /// </summary>
    public RaftAdmission Admit(RaftMessage message, Func<NodeId, bool>? isPlaced = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var view = new RaftAdmissionView(IsKnownMember, isPlaced ?? NeverPlaced, IsUninitialized, _ticksWithoutMemberLeader, LeaderlessTicks);
        return RaftInputAdmission.Decide(message.Kind, message.From, view);
    }

    /// <summary>
    /// Processes a message from a peer. Messages may be delayed, duplicated, reordered or lost; the core copes.
    /// A message addressed to another replica is a host bug and throws <see cref="ArgumentException"/>.
    /// </summary>
    public void Step(RaftMessage message)
    {
        if (message.To != Id || message.From == Id || message.From.IsNone)
        {
            throw new ArgumentException($"message {message} is not for replica {Id.Value}", nameof(message));
        }

        if (message.Term > Term)
        {
            if (message.Kind is RaftMessageKind.Vote or RaftMessageKind.PreVote)
            {
                var force = message.Context is { } context && context.AsSpan().SequenceEqual(RaftMessage.TransferContext);
                var inLease = LeaseApplies(message.Kind) && ((!Leader.IsNone && _electionElapsed < _config.ElectionTicks) || InStartupLease || InVoterLease);
                if (!force && inLease)
                {
                    // Thesis §4.2.3/§9.6: a replica that hears from a live leader ignores would-be candidates.
                    return;
                }
            }

            switch (message.Kind)
            {
                case RaftMessageKind.PreVote:
                    break;
                case RaftMessageKind.PreVoteResponse when !message.Reject:
                    // The granted term is the one we would campaign in; we raise our term when we become candidate.
                    break;
                case RaftMessageKind.Append or RaftMessageKind.Heartbeat or RaftMessageKind.Snapshot:
                    BecomeFollower(message.Term, message.From);
                    break;
                default:
                    BecomeFollower(message.Term, NodeId.None);
                    break;
            }
        }
        else if (message.Term < Term)
        {
            if ((_config.CheckQuorum || _config.PreVote) && message.Kind is RaftMessageKind.Append or RaftMessageKind.Heartbeat)
            {
                // A stale leader would otherwise never learn of the newer term (its peers ignore it and, with PreVote,
                // never send it a higher-term vote request); answering lets it step down.
                Send(new RaftMessage { Kind = RaftMessageKind.AppendResponse, From = Id, To = message.From, Term = Term });
            }
            else if (message.Kind == RaftMessageKind.PreVote)
            {
                Send(new RaftMessage { Kind = RaftMessageKind.PreVoteResponse, From = Id, To = message.From, Term = Term, Reject = true });
            }

            return;
        }

        switch (message.Kind)
        {
            case RaftMessageKind.Vote or RaftMessageKind.PreVote:
                HandleVoteRequest(message);
                return;
        }

        switch (Role)
        {
            case RaftRole.Leader:
                StepLeader(message);
                break;
            case RaftRole.Candidate or RaftRole.PreCandidate:
                StepCandidate(message);
                break;
            default:
                StepFollower(message);
                break;
        }
    }

    /// <summary>True when <see cref="GetReady"/> has something and no earlier Ready awaits <see cref="Advance"/>.</summary>
    public bool HasReady =>
        _outstanding is null
        && (_messages.Count > 0
            || _readStates.Count > 0
            || _log.UnstableEntries.Count > 0
            || _log.UnstableSnapshot is not null
            || CurrentHardState != _persistedHardState
            || _log.HasNextCommittedEntries);

    /// <summary>
    /// Takes the pending outputs. The host handles them as <see cref="Raft.Ready"/> describes, then calls
    /// <see cref="Advance"/>; inputs (Step, Tick, ...) may continue in between.
    /// </summary>
    public Ready GetReady()
    {
        if (_outstanding is not null)
        {
            throw new InvalidOperationException("The previous Ready has not been advanced.");
        }

        var hardState = CurrentHardState;
        var committed = _log.NextCommittedEntries(_config.MaxApplyBytesPerReady);
        if (committed.Count > 0)
        {
            _log.Applying = committed[^1].Index;
        }

        var before = new List<RaftMessage>();
        var after = new List<RaftMessage>();
        foreach (var m in _messages)
        {
            (m.MayPrecedePersistence || Faults.HasFlag(RaftFaults.SendBeforePersist) ? before : after).Add(m);
        }

        _messages.Clear();
        var ready = new Ready(
            hardState != _persistedHardState ? hardState : null,
            _log.UnstableSnapshot,
            _log.UnstableEntries.ToArray(),
            before,
            after,
            committed,
            _readStates.ToArray(),
            Leader,
            Role);
        _readStates.Clear();
        _outstanding = ready;
        return ready;
    }

    /// <summary>
    /// Tells the core the host has persisted, sent and applied <paramref name="ready"/> (see <see cref="Raft.Ready"/>).
    /// </summary>
    public void Advance(Ready ready)
    {
        if (!ReferenceEquals(ready, _outstanding))
        {
            throw new InvalidOperationException("Advance must be called with the last Ready taken.");
        }

        _outstanding = null;
        if (ready.HardState is { } hardState)
        {
            _persistedHardState = hardState;
        }

        if (ready.Snapshot is { } snapshot)
        {
            _log.StableSnapshotTo(snapshot.Index);
            _log.AppliedTo(snapshot.Index);
        }

        _log.StableTo(ready.Entries);

        if (ready.CommittedEntries.Count > 0)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
        }

        if (Role == RaftRole.Leader && _progress.TryGetValue(Id, out var self) && self.MaybeUpdate(_log.LastStableIndex) && MaybeCommit())
        {
            BroadcastAppend();
        }
    }

    /// <summary>A copy of this replica's state for diagnostics and placement decisions.</summary>
    public RaftStatus Status => new(
        Id,
        Role,
        Term,
        Vote,
        Leader,
        _log.FirstIndex,
        _log.LastIndex,
        _log.Committed,
        _log.Applied,
        Membership,
        _leadTransferee,
        _progress.ToDictionary(p => p.Key, p => new FollowerProgress(p.Value.Match, p.Value.Next, p.Value.State, p.Value.IsLearner, p.Value.RecentActive)));

    /// <summary>Test hook: the first index of the log (durable or not).</summary>
    internal LogIndex FirstIndex => _log.FirstIndex;

    /// <summary>Test hook: the term of an entry in the log (durable or not).</summary>
    internal bool TryGetTerm(LogIndex index, out Term term) => _log.TryTerm(index, out term);

    /// <summary>Test hook: entries of the log (durable or not).</summary>
    internal IReadOnlyList<RaftEntry> GetEntries(LogIndex from, LogIndex toExclusive) => _log.Entries(from, toExclusive, long.MaxValue);

    internal string DescribeProgress() =>
        string.Join(", ", _progress.OrderBy(p => p.Key).Select(p => $"{p.Key.Value}: {p.Value}"));

    private HardState CurrentHardState =>
        new(Term, Faults.HasFlag(RaftFaults.ForgetVoteOnRestart) ? NodeId.None : Vote, _log.Committed);

    private void Send(RaftMessage message) => _messages.Add(message);

    /// <summary>
    /// The messages produced since the last <see cref="GetReady"/>, in order. The simulator's lease promise check reads
    /// the answer a step produced right after the step, since a Ready may gather the answers of several steps.
    /// </summary>
    internal IReadOnlyList<RaftMessage> Outbox => _messages;

    private void Reset(Term term)
    {
        RaftInvariantException.ThrowIf(term < Term, $"term would go back from {Term} to {term}");
        if (term != Term)
        {
            Term = term;
            Vote = NodeId.None;
        }

        Leader = NodeId.None;
        _electionElapsed = 0;
        _heartbeatElapsed = 0;
        _randomizedElectionTimeout = _config.ElectionTicks + _random.Next(_config.ElectionTicks);
        _leadTransferee = NodeId.None;
        _votes.Clear();
        _progress.Clear();
        _uncommitted.Clear();
        _uncommittedBytes = 0;
        ResetReads();
    }
}
