using System.Threading.Channels;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards;

/// <summary>
/// The actor that owns one shard replica on this node: one bounded mailbox, one loop, no locks.
/// </summary>
/// <remarks>
/// Each turn drains up to <see cref="ShardReplicaOptions.MaxCommandsPerTurn"/> commands, decides each with
/// <see cref="ShardStateMachine"/> against the stored state plus the turn's own earlier writes (an overlay),
/// commits all resulting writes in one <see cref="ISilo"/> batch, and only then completes the callers: a
/// result is reported only once durable. The silo group-commits the batches of all shards, so under load
/// one flush serves many shards and many commands.
///
/// Today a shard has one replica and commands apply directly. The Raft issue inserts the shard's log
/// between "drain" and "decide": commands become log entries, and committed entries are decided here in
/// log order on every replica, which is why the decision is pure and the command is a protobuf message.
///
/// Reads do not pass through the mailbox: they read the silo, which holds exactly the committed state.
/// </remarks>
public sealed partial class ShardReplica : IAsyncDisposable
{
    private readonly Channel<ShardRequest> _mailbox;
    private readonly ISilo _silo;
    private readonly ShardReplicaOptions _options;
    private readonly ILogger _logger;
    private readonly Task _loop;

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
    public async Task<ShardResult> SubmitAsync(ShardCommand command, CancellationToken cancellationToken = default)
    {
        var request = new ShardRequest(command, cancellationToken);
        try
        {
            await _mailbox.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException($"Shard replica {Id}", "The shard replica is stopping.");
        }
        return await request.Completion.Task.ConfigureAwait(false);
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
                if (request.CancellationToken.IsCancellationRequested)
                {
                    request.Completion.TrySetCanceled(request.CancellationToken);
                    continue;
                }
                try
                {
                    var target = ShardStateMachine.TargetOf(request.Command);
                    var current = _overlay.TryGetValue(target, out var pending) ? pending : await ReadAsync(target).ConfigureAwait(false);
                    var decision = ShardStateMachine.Decide(request.Command, current);
                    if (decision.Changed)
                    {
                        Stage(batch, target, decision.NewValue);
                    }
                    _decided.Add((request, decision.Result));
                }
                catch (Exception e) when (e is InvalidShardCommandException or FormatException or Google.Protobuf.InvalidProtocolBufferException)
                {
                    LogCommandFailed(e, Id);
                    request.Completion.TrySetException(e);
                }
            }

            if (!batch.IsEmpty)
            {
                try
                {
                    await _silo.CommitAsync(batch).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Nothing of this turn is durable: report the fault to every caller, keep serving.
                    LogCommitFailed(e, Id, _decided.Count);
                    foreach (var (request, _) in _decided)
                    {
                        request.Completion.TrySetException(e);
                    }
                    continue;
                }
            }
            foreach (var (request, result) in _decided)
            {
                request.Completion.TrySetResult(result);
            }
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

    /// <summary>Stops taking commands, finishes those already queued, and stops the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        _mailbox.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private sealed class ShardRequest(ShardCommand command, CancellationToken cancellationToken)
    {
        public ShardCommand Command { get; } = command;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<ShardResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
