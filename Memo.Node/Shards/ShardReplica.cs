using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards;

/// <summary>
/// The actor that owns one shard replica on this node: one bounded mailbox, one loop, no locks.
/// </summary>
/// <remarks>
/// Each turn drains up to <see cref="ShardReplicaOptions.MaxCommandsPerTurn"/> commands, decides each with
/// <see cref="ShardStateMachine"/> against the stored state plus the turn's own earlier writes (an overlay),
/// hands all resulting writes to the <see cref="ISilo"/> as one batch, and only after that batch is durable
/// reports results as durable. The silo group-commits the batches of all shards, so under load one flush
/// serves many shards and many commands.
///
/// A command has two completion points (<see cref="ShardSubmission"/>): <em>applied</em> (decided, and its
/// batch queued in the silo) and <em>durable</em>. Because the silo makes batches durable in the order they
/// were queued, a caller that waits for command A to be applied before submitting command B to another shard
/// knows that B durable implies A durable. The key-value store uses this to write a value block and its entry
/// with one flush instead of two.
///
/// Reclamation of unreferenced value blocks is not urgent, so it is not a mailbox command of its own: reclaims
/// queue beside the mailbox and ride along with the next turn (a wake-up is posted only when the shard is idle).
///
/// Today a shard has one replica and commands apply directly. The cluster issue inserts the shard's Raft log
/// between "drain" and "decide": commands become log entries, decided here in log order on every replica,
/// which is why the decision is pure and the command is a protobuf message.
///
/// Reads do not pass through the mailbox: they read the silo, which holds exactly the committed state.
/// </remarks>
public sealed partial class ShardReplica : IAsyncDisposable
{
    private readonly Channel<ShardRequest> _mailbox;
    private readonly ConcurrentQueue<BlockAddress> _reclaims = new();
    private readonly ISilo _silo;
    private readonly ShardReplicaOptions _options;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private int _reclaimWakePosted;

    // Turn state, touched only by the loop.
    private readonly Dictionary<ShardRecordKey, byte[]?> _overlay = [];
    private readonly List<(ShardRequest Request, ShardResult Result)> _decided = [];

    /// <summary>Starts the replica's loop.</summary>
    public ShardReplica(ShardId id, ISilo silo, ShardReplicaOptions options, ILogger logger)
    {
        Id = id;
        _silo = silo;
        _options = options;
        _logger = logger;
        _mailbox = Channel.CreateBounded<ShardRequest>(new BoundedChannelOptions(options.MailboxCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The shard this replica serves.</summary>
    public ShardId Id { get; }

    /// <summary>
    /// Applies a command and returns its result once the effect is durable. Cancelling before the command is
    /// applied withdraws it; after that the command takes effect regardless.
    /// </summary>
    public Task<ShardResult> SubmitAsync(ShardCommand command, CancellationToken cancellationToken = default) =>
        Submit(command, cancellationToken).Durable;

    /// <summary>Queues a command; the returned submission says when it is applied and when it is durable.</summary>
    public ShardSubmission Submit(ShardCommand command, CancellationToken cancellationToken = default)
    {
        var request = new ShardRequest(command, cancellationToken);
        if (!_mailbox.Writer.TryWrite(request))
        {
            _ = EnqueueSlowAsync(request);
        }
        return new ShardSubmission(request.Applied.Task, request.Durable.Task);
    }

    private async Task EnqueueSlowAsync(ShardRequest request)
    {
        try
        {
            await _mailbox.Writer.WriteAsync(request, request.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException e)
        {
            request.Cancel(e.CancellationToken);
        }
        catch (ChannelClosedException)
        {
            request.Fail(new ObjectDisposedException($"Shard replica {Id}", "The shard replica is stopping."));
        }
    }

    /// <summary>
    /// Removes a block the key-value store no longer references, with the next turn's writes. Not acknowledged:
    /// a reclaim lost to a crash leaves garbage, never a dangling reference.
    /// </summary>
    public void Reclaim(BlockAddress address)
    {
        _reclaims.Enqueue(address);
        if (Interlocked.Exchange(ref _reclaimWakePosted, 1) == 0 && !_mailbox.Writer.TryWrite(ShardRequest.Wake))
        {
            // The mailbox is full, so a turn is coming anyway and will take the reclaims.
            Volatile.Write(ref _reclaimWakePosted, 0);
        }
    }

    private async Task RunAsync()
    {
        var reader = _mailbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var batch = new SiloBatch();
            _overlay.Clear();
            _decided.Clear();
            while (_decided.Count < _options.MaxCommandsPerTurn && reader.TryRead(out var request))
            {
                if (ReferenceEquals(request, ShardRequest.Wake))
                {
                    continue;
                }
                if (request.CancellationToken.IsCancellationRequested)
                {
                    request.Cancel(request.CancellationToken);
                    continue;
                }
                try
                {
                    _decided.Add((request, await DecideAsync(request.Command, batch).ConfigureAwait(false)));
                }
                catch (Exception e) when (e is InvalidShardCommandException or FormatException or InvalidProtocolBufferException)
                {
                    LogCommandFailed(e, Id);
                    request.Fail(e);
                }
            }
            await TakeReclaimsAsync(batch).ConfigureAwait(false);

            // Queue the batch first, then announce "applied": the silo's FIFO durability is what callers rely on.
            var commit = batch.IsEmpty ? Task.CompletedTask : CommitAsync(batch);
            foreach (var (request, result) in _decided)
            {
                request.Applied.TrySetResult(result);
            }
            try
            {
                await commit.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Nothing of this turn is durable: report the fault to every caller, keep serving.
                LogCommitFailed(e, Id, _decided.Count);
                foreach (var (request, _) in _decided)
                {
                    request.Durable.TrySetException(e);
                }
                continue;
            }
            foreach (var (request, result) in _decided)
            {
                request.Durable.TrySetResult(result);
            }
        }
        // Stopping: reclaims queued after the last turn still get their own batch.
        var last = new SiloBatch();
        await TakeReclaimsAsync(last).ConfigureAwait(false);
        if (!last.IsEmpty)
        {
            await _silo.CommitAsync(last).ConfigureAwait(false);
        }
    }

    // A silo that rejects a batch synchronously (argument checks) fails the turn like an I/O fault would.
    private Task CommitAsync(SiloBatch batch)
    {
        try
        {
            return _silo.CommitAsync(batch);
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    private async ValueTask<ShardResult> DecideAsync(ShardCommand command, SiloBatch batch)
    {
        var target = ShardStateMachine.TargetOf(command);
        var current = _overlay.TryGetValue(target, out var pending) ? pending : await ReadAsync(target).ConfigureAwait(false);
        var decision = ShardStateMachine.Decide(command, current);
        if (decision.Changed)
        {
            Stage(batch, target, decision.NewValue);
        }
        return decision.Result;
    }

    private async ValueTask TakeReclaimsAsync(SiloBatch batch)
    {
        Volatile.Write(ref _reclaimWakePosted, 0);
        while (_reclaims.TryDequeue(out var address))
        {
            var command = new ShardCommand
            {
                Format = ShardStateMachine.Format,
                ReclaimBlock = new ReclaimBlock { Address = UnsafeByteOperations.UnsafeWrap(address.ToArray()) },
            };
            _ = await DecideAsync(command, batch).ConfigureAwait(false);
        }
    }

    private void Stage(SiloBatch batch, ShardRecordKey target, byte[]? value)
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
                batch.PutEntry(Id, target.Key!, value);
            }
        }
        else if (value is null)
        {
            batch.DeleteBlock(target.Address);
        }
        else
        {
            batch.PutBlock(Id, target.Address, value);
        }
    }

    private ValueTask<byte[]?> ReadAsync(ShardRecordKey target) =>
        target.IsEntry ? _silo.ReadEntryAsync(target.Key!) : _silo.ReadBlockAsync(target.Address);

    /// <summary>Stops taking commands, finishes those already queued (and pending reclaims), and stops the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        _mailbox.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private sealed class ShardRequest(ShardCommand command, CancellationToken cancellationToken)
    {
        // Posted to wake an idle replica so it takes queued reclaims.
        public static readonly ShardRequest Wake = new(new ShardCommand(), CancellationToken.None);

        public ShardCommand Command { get; } = command;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<ShardResult> Applied { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<ShardResult> Durable { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Cancel(CancellationToken token)
        {
            Applied.TrySetCanceled(token);
            Durable.TrySetCanceled(token);
        }

        public void Fail(Exception e)
        {
            Applied.TrySetException(e);
            Durable.TrySetException(e);
        }
    }
}
