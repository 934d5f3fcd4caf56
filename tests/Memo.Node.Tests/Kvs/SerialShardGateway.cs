using Memo.Node.Shards.Scanning;
using Memo.Node.Configuration;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Kvs;

/// <summary>
/// The key-value store's unit-test gateway: every shard on one silo, commands decided by the real
/// <see cref="ShardStateMachine"/> one at a time (as a shard's log would order them) and committed before the
/// next. Disposing waits for queued reclaims, so tests can count what is left in the silo.
/// </summary>
internal sealed class SerialShardGateway(ShardLayout layout, ISilo silo) : IShardGateway, IAsyncDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly List<Task> _reclaims = [];

    public ShardLayout Layout { get; } = layout;

    public async Task<ShardResult> ProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken = default)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            if (!ShardStateMachine.TryTarget(command, shard, Layout, out var target, out var refusal))
            {
                return refusal;
            }
            var current = target.IsEntry ? await silo.ReadEntryAsync(target.Key!) : await silo.ReadBlockAsync(target.Address);
            var decision = ShardStateMachine.Decide(command, current);
            var batch = new SiloBatch();
            if (decision.Changed)
            {
                _ = (target.IsEntry, decision.NewValue) switch
                {
                    (true, null) => batch.DeleteEntry(target.Key!),
                    (true, { } value) => batch.PutEntry(shard, target.Key!, value),
                    (false, null) => batch.DeleteBlock(target.Address),
                    (false, { } value) => batch.PutBlock(shard, target.Address, value),
                };
            }
            foreach (var write in decision.Also ?? [])
            {
                _ = write.Value is null ? batch.DeleteBlock(write.Key.Address) : batch.PutBlock(shard, write.Key.Address, write.Value);
            }
            if (!batch.IsEmpty)
            {
                await silo.CommitAsync(batch);
            }
            return decision.Result;
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Reclaims that the state machine refused (no or a wrong reclaim key): none in a correct store.</summary>
    public List<ShardResult.Refused> RefusedReclaims { get; } = [];

    public void Reclaim(BlockAddress address, ReadOnlyMemory<byte> reclaimKey)
    {
        var command = new ShardCommand
        {
            Format = ShardStateMachine.Format,
            ReclaimBlock = new ReclaimBlock
            {
                Address = Google.Protobuf.ByteString.CopyFrom(address.ToArray()),
                ReclaimKey = Google.Protobuf.ByteString.CopyFrom(reclaimKey.Span),
            },
        };
        lock (_reclaims)
        {
            _reclaims.Add(ReclaimAsync(Layout.ShardOf(address), command));
        }
    }

    private async Task ReclaimAsync(ShardId shard, ShardCommand command)
    {
        if (await ProposeAsync(shard, command) is ShardResult.Refused refused)
        {
            lock (_reclaims)
            {
                RefusedReclaims.Add(refused);
            }
        }
    }

    // One copy, applied serially: every read is linearizable, which is also a valid stale read.
    public ValueTask<byte[]?> ReadEntryAsync(string key, ReadConsistency? consistency, CancellationToken cancellationToken = default) => silo.ReadEntryAsync(key, cancellationToken);

    public ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, bool linearizable, CancellationToken cancellationToken = default) =>
        silo.ReadBlockAsync(address, cancellationToken);

    public async ValueTask<KeyScanPage> ScanAsync(KeyScan scan, CancellationToken cancellationToken = default) =>
        KeyScanMerge.Merge([await SiloKeyScan.RunAsync(silo, scan, _ => true, cancellationToken)], scan.Limit);

    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        lock (_reclaims)
        {
            pending = [.. _reclaims];
        }
        await Task.WhenAll(pending);
    }
}
