using System.Threading.Channels;
using Akka.Actor;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// The inputs of one incarnation of a replica actor: a bounded queue the facade writes and the actor drains at its turn,
/// and the one <see cref="ReplicaWake"/> in the actor's Akka mailbox that says there is something to take.
/// </summary>
/// <remarks>
/// Inputs do not travel as Akka messages: the actor takes everything queued when its turn starts, as the channel loop
/// it replaced did, so inputs that arrive together share one turn, one ReadIndex and one silo commit, and a busy actor
/// costs no mailbox message, envelope or behaviour lookup per input. The wake is what the mailbox carries instead:
/// posted by the first input (or tick) after the actor re-armed it at its turn's start, so an idle actor gets one
/// message per batch. Which batches form also depends on where the wake is queued on the thread pool
/// (<see cref="Wake"/>). Closing the inbox (the incarnation stopped) refuses new inputs and hands back what
/// was queued and never stepped.
/// </remarks>
internal sealed class ReplicaInbox
{
    private readonly Channel<ReplicaInput> _inputs;
    private readonly IActorRef _actor;
    private int _wakePosted;
    private volatile bool _closed;
    // Set when the node turn loop runs the replica's turns: the wake puts it on the loop's ready set instead.
    private Action? _wakeLoop;

    public ReplicaInbox(IActorRef actor, int capacity)
    {
        _actor = actor;
        _inputs = Channel.CreateBounded<ReplicaInput>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Whether the incarnation stopped (new inputs are refused).</summary>
    public bool IsClosed => _closed;

    /// <summary>Queues an input and wakes the actor; false when the inbox is full or closed (nothing was queued).</summary>
    public bool TryPost(ReplicaInput input)
    {
        if (!_inputs.Writer.TryWrite(input))
        {
            return false;
        }
        Wake();
        return true;
    }

    /// <summary>Queues an input, waiting for room while the inbox is full, and wakes the actor.</summary>
    /// <exception cref="ChannelClosedException">The inbox closed.</exception>
    public async ValueTask PostAsync(ReplicaInput input, CancellationToken cancellationToken)
    {
        await _inputs.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
        Wake();
    }

    /// <summary>Makes sure one <see cref="ReplicaWake"/> is on its way to the actor (posts one unless one is already).</summary>
    /// <remarks>The wake is Told from a work item at the back of the thread pool's global queue, not from here. Measured
    /// (tests/Memo.Benchmarks --replicas, 16 shards × 3 replicas, 64 readers): a turn that completes 4 readers queues
    /// their continuations on its thread's local queue; the first to run posts its next read and wakes the replica. Told
    /// from there, Akka's default dispatcher queued the actor on the same local queue, which the thread serves last-in
    /// first-out, so the actor ran at once with that one read: every read took its own ReadIndex (1.00 per read against
    /// 0.26 for the channel loop, whose channel wakes its reader through the global queue) and cost 5.5–6.9 µs of CPU
    /// against 2.4–2.8. Behind the other readers, the turn takes all 4. A dispatcher that queued every mailbox run of the
    /// replicas on the global queue did the same for the reads, but the 3-process acceptance test's writes then timed out
    /// after a node's SIGKILL (ClusterAcceptanceProcessTests; not understood yet), so only the wake takes that route.</remarks>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePosted, 1) == 0)
        {
            if (Volatile.Read(ref _wakeLoop) is { } loop)
            {
                loop();
                return;
            }
            ThreadPool.UnsafeQueueUserWorkItem(static actor => actor.Tell(ReplicaWake.Instance), _actor, preferLocal: false);
        }
    }

    /// <summary>From now on a wake calls <paramref name="wake"/> (<see cref="NodeTurnLoop.Member.Wake"/>) instead of
    /// telling the actor (<see cref="ShardTurnLoop.Node"/>; set before the incarnation takes inputs).</summary>
    public void RouteWakes(Action wake) => Volatile.Write(ref _wakeLoop, wake);

    /// <summary>Refuses new inputs; those queued stay until <see cref="Close"/> (the node turn loop may still be taking
    /// them when the incarnation stops).</summary>
    public void Refuse()
    {
        _closed = true;
        _inputs.Writer.TryComplete();
    }

    /// <summary>Called by the actor at its turn's start, before it takes anything: an input or tick that arrives after
    /// this posts a new wake; one that arrived before is taken by this turn.</summary>
    public void Rearm() => Volatile.Write(ref _wakePosted, 0);

    /// <summary>Takes the oldest queued input (the actor only).</summary>
    public bool TryTake(out ReplicaInput input) => _inputs.Reader.TryRead(out input!);

    /// <summary>Whether an input is queued.</summary>
    public bool HasInputs => _inputs.Reader.TryPeek(out _);

    /// <summary>Refuses new inputs and returns those queued and never taken (the actor only, when it stops).</summary>
    public List<ReplicaInput> Close()
    {
        Refuse();
        var left = new List<ReplicaInput>();
        while (_inputs.Reader.TryRead(out var input))
        {
            left.Add(input);
        }
        return left;
    }

    /// <summary>Answers an input that no core ever saw: a request <see cref="ShardGroupOutcome.Dropped"/> (it did nothing, so
    /// it can be retried), a status request with <see cref="ShardGroupStoppedException"/>.</summary>
    public static void Answer(ReplicaInput input, string why)
    {
        switch (input)
        {
            case ReplicaRequest request:
                request.Completion.TrySetResult(new ShardGroupOutcome.Dropped(why));
                break;
            case StatusInput status:
                status.Completion.TrySetException(new ShardGroupStoppedException(why));
                break;
        }
    }
}
