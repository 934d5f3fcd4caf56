using System.Runtime.CompilerServices;
using Memo.Node.Storage;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// The node-wide Ready loop (<see cref="ShardTurnLoop.Node"/>): one loop runs the turns of every replica on a silo that
/// has work, stages their Readies and state-machine writes into ONE <see cref="SiloBatch"/>, commits it once, then
/// finishes each turn (send, complete, advance), as TiKV's raftstore batch system and etcd's single Raft loop do.
/// </summary>
/// <remarks>
/// <para>Design note (docs/design/shard-groups.md, "The node turn loop").</para>
/// <code>
///   replica's inbox wakes ──Schedule──▶ ready set ──round──▶ front halves into one batch ──CommitAsync──▶ back halves
///                                         ▲    (replicas whose previous turn is not finished stay in the set) │
///                                         └────────────────────────── released ◀──────────────────────────────┘
/// </code>
/// <para>Rounds, not a thread: a round runs as a thread-pool work item queued when the ready set gets its first replica
/// (on the pool's global queue, like <see cref="ReplicaInbox.Wake"/>), and the loop runs rounds back to back until
/// the set holds nothing it may step. No dedicated thread: a round's front halves may await silo reads (a command
/// decided against a stored record), and the silo's commits complete on the pool; a thread of its own would block
/// on them or hand them back to the pool anyway. One round at a time (<see cref="_running"/>), so a wake costs a
/// lock and a list add while a round is under way, and a round of N replicas costs one work item instead of N
/// mailbox runs, one commit instead of N, and one continuation for the commit's end.</para>
/// <para>Pipelining: a round does not wait for its commit. The back halves run when it completes (on the thread
/// that completes it), while the loop may run the next round with the replicas that were not in the last one. A
/// replica stays busy from its front half to the end of its back half; a busy replica is never stepped (its core is
/// between GetReady and Advance), and a wake while busy only marks it, so it runs in the first round after it is
/// released (the actor's Persisting state, for the whole node).</para>
/// <para>Failure: a round's batch fails whole (the silo applies it atomically), and every replica in it fails as a
/// replica whose own commit failed does (<see cref="Member.Failed"/>: its incarnation stops and its supervisor starts
/// another from the silo). A replica whose front or back half throws fails alone.</para>
/// <para>Stop: an incarnation that stops unregisters (<see cref="Member.Unregister"/>); it is never stepped again, and
/// the task returned completes once a turn it is in has finished, after which the incarnation fails what it had
/// taken.</para>
/// </remarks>
internal sealed class NodeTurnLoop
{
    // One loop per silo: the batch it commits is that silo's, and the silo is the node's (a test hosting several nodes
    // in one process gives each its own silo, hence its own loop).
    private static readonly ConditionalWeakTable<ISilo, NodeTurnLoop> s_loops = [];

    private readonly ISilo _silo;
    private readonly object _gate = new();
    // Registered replicas with work, in the order they were woken; busy ones stay until released.
    private readonly List<Member> _ready = [];
    private bool _running;
    private long _rounds;
    private long _commits;

    private NodeTurnLoop(ISilo silo) => _silo = silo;

    /// <summary>The loop of the replicas on <paramref name="silo"/> (created on first use).</summary>
    public static NodeTurnLoop Of(ISilo silo) => s_loops.GetValue(silo, static s => new NodeTurnLoop(s));

    /// <summary>Rounds run so far (tests).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Batches committed so far: at most one per round (tests).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Registers a loaded incarnation's core; its inbox's wakes must then be routed to
    /// <see cref="Member.Wake"/>. <paramref name="failed"/> is called (once, from the loop) when one of its turns fails:
    /// the incarnation must stop.</summary>
    public Member Register(ShardReplicaCore core, Action<Exception> failed) => new(this, core, failed);

    private void Schedule(Member member)
    {
        lock (_gate)
        {
            if (member.Queued || member.Stopped)
            {
                return;
            }
            member.Queued = true;
            _ready.Add(member);
            if (member.Busy || !TryStartLocked())
            {
                return;
            }
        }
        ThreadPool.UnsafeQueueUserWorkItem(static loop => _ = loop.RunRoundsAsync(), this, preferLocal: false);
    }

    // Under the gate: whether the caller must queue the loop (it was not running).
    private bool TryStartLocked()
    {
        if (_running)
        {
            return false;
        }
        _running = true;
        return true;
    }

    private async Task RunRoundsAsync()
    {
        while (TakeRound() is { } round)
        {
            await RunRoundAsync(round).ConfigureAwait(false);
        }
    }

    // The replicas the next round steps: every queued one not busy (busy ones stay queued); null (and the loop stops)
    // when there are none.
    private List<Member>? TakeRound()
    {
        lock (_gate)
        {
            List<Member>? round = null;
            for (var i = 0; i < _ready.Count; i++)
            {
                var member = _ready[i];
                if (member.Busy)
                {
                    continue;
                }
                member.Queued = false;
                member.Busy = true;
                (round ??= []).Add(member);
                _ready[i] = null!;
            }
            if (round is null)
            {
                _running = false;
                return null;
            }
            _ready.RemoveAll(m => m is null);
            return round;
        }
    }

    private async Task RunRoundAsync(List<Member> round)
    {
        Interlocked.Increment(ref _rounds);
        var batch = new SiloBatch();
        var flush = false;
        List<(Member Member, ShardReplicaCore.StagedTurn Staged)>? staged = null;
        foreach (var member in round)
        {
            if (member.Stopped)
            {
                Release(member);
                continue;
            }
            try
            {
                if (!member.Core.BeginTurn())
                {
                    member.Core.EndTurn();
                    Release(member);
                    continue;
                }
                var turn = await member.Core.StageReadyAsync(new SiloBatch(), shared: true).ConfigureAwait(false);
                batch.Append(turn.Batch);
                flush |= turn.Flush;
                (staged ??= []).Add((member, turn));
            }
            catch (Exception e)
            {
                Fail(member, e);
            }
        }
        if (staged is null)
        {
            return;
        }
        Task commit;
        if (batch.IsEmpty)
        {
            commit = Task.CompletedTask;
        }
        else
        {
            Interlocked.Increment(ref _commits);
            try
            {
                // As ShardReplicaCore's own commit: only new entries, a snapshot, a new term or vote need the flush.
                commit = _silo.CommitAsync(flush ? batch : batch.DeferFlush(), CancellationToken.None);
            }
            catch (Exception e)
            {
                commit = Task.FromException(e);
            }
        }
        if (commit.IsCompleted)
        {
            Finish(staged, commit);
        }
        else
        {
            _ = commit.ContinueWith(static (done, state) => Finish((List<(Member, ShardReplicaCore.StagedTurn)>)state!, done), staged,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    // The round's batch is durable (or failed): each turn's back half, each on its own so that one that awaits (a
    // snapshot) holds up no other.
    private static void Finish(List<(Member Member, ShardReplicaCore.StagedTurn Staged)> staged, Task commit)
    {
        foreach (var (member, turn) in staged)
        {
            _ = member.FinishAsync(turn, commit);
        }
    }

    private void Release(Member member)
    {
        TaskCompletionSource? idle;
        var start = false;
        lock (_gate)
        {
            member.Busy = false;
            idle = member.Stopped ? member.Idle : null;
            if (!member.Stopped && member.Queued)
            {
                start = TryStartLocked();
            }
        }
        idle?.TrySetResult();
        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static loop => _ = loop.RunRoundsAsync(), this, preferLocal: false);
        }
    }

    private void Fail(Member member, Exception cause)
    {
        lock (_gate)
        {
            member.Stopped = true;
        }
        Release(member);
        member.Failed(cause is AggregateException { InnerException: { } inner } ? inner : cause);
    }

    /// <summary>One registered incarnation: its core and its place in the loop (guarded by the loop's gate).</summary>
    internal sealed class Member
    {
        private readonly NodeTurnLoop _loop;

        public Member(NodeTurnLoop loop, ShardReplicaCore core, Action<Exception> failed)
        {
            _loop = loop;
            Core = core;
            Failed = failed;
        }

        /// <summary>The incarnation's core; touched only by the loop while registered.</summary>
        public ShardReplicaCore Core { get; }

        /// <summary>Told a turn failed: the incarnation stops.</summary>
        public Action<Exception> Failed { get; }

        /// <summary>In the ready set.</summary>
        public bool Queued { get; set; }

        /// <summary>In a round: from its front half to the end of its back half.</summary>
        public bool Busy { get; set; }

        /// <summary>Unregistered or failed: never stepped again.</summary>
        public bool Stopped { get; set; }

        /// <summary>Completed once the member is stopped and in no round.</summary>
        public TaskCompletionSource Idle { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The replica has work (its inbox's wake): it joins the ready set, once.</summary>
        public void Wake() => _loop.Schedule(this);

        /// <summary>Takes the member out of the loop: it is never stepped again. Completes once a turn it is in (front
        /// or back half) has finished.</summary>
        public Task Unregister()
        {
            bool busy;
            lock (_loop._gate)
            {
                Stopped = true;
                busy = Busy;
            }
            if (!busy)
            {
                Idle.TrySetResult();
            }
            return Idle.Task;
        }

        /// <summary>A turn's back half once its round's commit ended; then the member is released.</summary>
        public async Task FinishAsync(ShardReplicaCore.StagedTurn turn, Task commit)
        {
            try
            {
                await Core.FinishReadyAsync(turn, commit).ConfigureAwait(false);
                Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.TurnDone);
                Core.EndTurn();
            }
            catch (Exception e)
            {
                _loop.Fail(this, e);
                return;
            }
            _loop.Release(this);
        }
    }
}
