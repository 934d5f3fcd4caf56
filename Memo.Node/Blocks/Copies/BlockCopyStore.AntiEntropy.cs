using Google.Protobuf;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;

namespace Memo.Node.Blocks.Copies;

/// <summary>
/// Anti-entropy: every node compares its copies with the other replicas of their shards, one sorted address range at
/// a time, and sends what a replica lacks or drops what it no longer needs (<see cref="CopyRepairPlan"/> decides).
/// </summary>
/// <remarks>
/// Each node only ever pushes its own copies, so a lost or new replica is filled by every surviving holder's pass, and
/// a copy dropped for failing its check is sent again by the others. The comparison is by sorted address range: this
/// node lists a page of its addresses, each other replica lists its addresses in the same range, and the difference
/// is the work. A pass stops after <see cref="BlockCopyOptions.AntiEntropyMaxCopiesPerPass"/> actions, so a large
/// move runs over several passes at a bounded rate. A copy about to be sent is checked first; a bad one is dropped
/// here instead of spread.
/// </remarks>
public sealed partial class BlockCopyStore
{
    /// <summary>
    /// Runs one anti-entropy pass over every shard this node holds copies of; returns the number of copies sent or
    /// dropped. The node's loop calls it every <see cref="BlockCopyOptions.AntiEntropyInterval"/>; tests call it directly.
    /// </summary>
    public async Task<int> RunAntiEntropyPassAsync(CancellationToken cancellationToken = default)
    {
        var budget = _options.AntiEntropyMaxCopiesPerPass;
        var view = _view();
        foreach (var shard in _layout.AllShards)
        {
            // The same pass keeps erasure-coded blocks whole: each holder of a fragment checks its blocks' holders.
            budget = await RepairFragmentsAsync(shard, view, budget, cancellationToken).ConfigureAwait(false);
            var replicas = view.ReplicasOf(shard);
            if (replicas.Count == 0)
            {
                continue;
            }
            BlockAddress? after = null;
            while (budget > 0)
            {
                var page = await _silo.ListBlockCopiesAsync(shard, after, _options.AntiEntropyPageSize, cancellationToken).ConfigureAwait(false);
                if (page.Count == 0)
                {
                    break;
                }
                var through = page[^1];
                var request = new ListCopiesRequest
                {
                    Shard = (uint)shard.Value,
                    After = after is { } a ? ByteString.CopyFrom(a.ToArray()) : ByteString.Empty,
                    Through = ByteString.CopyFrom(through.ToArray()),
                    // A replica may hold addresses this node lacks in the range; past this many its answer is incomplete
                    // and counts as no answer (nothing is dropped on its account).
                    Limit = (uint)Math.Min(MaxListLimit, _options.AntiEntropyPageSize * 4),
                };
                var others = replicas.Nodes.Where(n => n != _self).ToList();
                var answers = await Task.WhenAll(others.Select(n => _forwarder.ListCopiesAsync(n, request, _options.AttemptTimeout, cancellationToken)))
                    .ConfigureAwait(false);
                var heldBy = new Dictionary<NodeId, IReadOnlySet<BlockAddress>?>();
                for (var i = 0; i < others.Count; i++)
                {
                    heldBy[others[i]] = answers[i] is { Complete: true } reply
                        ? reply.Addresses.Select(b => BlockAddress.TryFromBytes(b.Span, out var x) ? x : default).ToHashSet()
                        : null;
                }
                var plan = CopyRepairPlan.Decide(_self, replicas, page, heldBy, budget);
                budget -= plan.Count;
                await CarryOutAsync(shard, plan, cancellationToken).ConfigureAwait(false);
                if (page.Count < _options.AntiEntropyPageSize)
                {
                    break;
                }
                after = through;
            }
        }
        return _options.AntiEntropyMaxCopiesPerPass - budget;
    }

    private async Task CarryOutAsync(ShardId shard, CopyRepairPlan plan, CancellationToken cancellationToken)
    {
        foreach (var group in plan.Pushes.GroupBy(p => p.Address))
        {
            // Checked before it is spread; a bad copy is dropped here (ReadLocalAsync) and comes back from a good holder.
            var block = await ReadLocalAsync(group.Key, cancellationToken).ConfigureAwait(false);
            if (block is null)
            {
                continue;
            }
            var wrapped = block.ToByteString();
            var stale = 0;
            var sends = group.Select(async push =>
            {
                var call = await _forwarder.StoreCopyAsync(push.Target, new StoreCopyRequest { Shard = (uint)shard.Value, Block = wrapped },
                    _options.AttemptTimeout, cancellationToken).ConfigureAwait(false);
                if (call.Answer is { Status: CopyStatus.Stored })
                {
                    Interlocked.Increment(ref _copiesSent);
                }
                else if (call.Answer is { Status: CopyStatus.Removed })
                {
                    Interlocked.Exchange(ref stale, 1);
                }
                else
                {
                    LogRepairFailed(group.Key.ToString(), push.Target, call.Answer?.Reason ?? call.Fate.ToString());
                }
            });
            await Task.WhenAll(sends).ConfigureAwait(false);
            if (stale != 0)
            {
                // Another replica applied a reclaim of this block: so will this one, but until then it must not spread it.
                await _silo.CommitAsync(new SiloBatch().DeleteBlock(group.Key), cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _staleCopiesRemoved);
            }
        }
        if (plan.Drops.Length > 0)
        {
            var batch = new SiloBatch();
            foreach (var address in plan.Drops)
            {
                batch.DeleteBlockCopy(address);
            }
            await _silo.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _copiesDropped, plan.Drops.Length);
        }
    }

    private async Task RunAntiEntropyAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.AntiEntropyInterval, token).ConfigureAwait(false);
                await RunAntiEntropyPassAsync(token).ConfigureAwait(false);
                // A removal is remembered long enough for every replica to apply the same reclaim or to be replaced.
                await _silo.CommitAsync(new SiloBatch().ForgetRemovedBlocks(DateTimeOffset.UtcNow - _options.RemovalMemory), token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A failed pass (a silo error, a peer gone mid-call) is retried at the next interval.
                LogPassFailed(e);
            }
        }
    }
}
