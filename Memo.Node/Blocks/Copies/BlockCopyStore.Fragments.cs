using System.Collections.Immutable;
using Google.Protobuf;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Erasure;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Blocks.Copies;

/// <summary>
/// Erasure coding on the direct block path (docs/ARCHITECTURE.md, "Policies: erasure coding"): with
/// <c>memo.network.erasure</c> = K+M, an immutable block above the threshold is stored as K + M Reed–Solomon fragments,
/// one on each node of <see cref="FragmentPlacement.HoldersOf"/> its address, instead of whole copies on its shard's
/// replica set; read back from the first K valid fragments; repaired by the same anti-entropy pass as copies.
/// </summary>
/// <remarks>
/// A write completes only once all K + M fragments are durable, so M holders may be lost right after the
/// acknowledgement. When that cannot be had (fewer than K + M nodes on the ring, a holder this node sees unreachable,
/// or a fragment not acknowledged within <see cref="BlockCopyOptions.AttemptTimeout"/>) the block is kept as whole
/// copies instead: a write never waits for an eviction. Reads look for copies and fragments alike, so either form
/// serves. Identity does not change: the block is still found at its content address, and every decode is checked
/// against that address before the block is used, served or its fragments rebuilt.
/// </remarks>
public sealed partial class BlockCopyStore
{
    private const int MaxDecodeAttempts = 64;
    private ReedSolomonCodec? _codec;
    private long _fragmentsRebuilt;
    private long _fragmentsSent;
    private long _fragmentsDropped;
    private long _badFragmentsFound;

    /// <summary>Fragments this node's anti-entropy rebuilt from K others and stored on a holder that had none.</summary>
    public long FragmentsRebuilt => Interlocked.Read(ref _fragmentsRebuilt);

    /// <summary>Fragments this node handed, as they were, to a holder that had none (placement moved).</summary>
    public long FragmentsSent => Interlocked.Read(ref _fragmentsSent);

    /// <summary>Fragments this node dropped (held elsewhere now, a duplicate, or the block removed).</summary>
    public long FragmentsDropped => Interlocked.Read(ref _fragmentsDropped);

    /// <summary>Fragments found here or received that failed their check, and were not used.</summary>
    public long BadFragmentsFound => Interlocked.Read(ref _badFragmentsFound);

    // True when the block is now durable as K + M fragments; false when it should be kept as whole copies instead.
    private async Task<bool> TryStoreFragmentsAsync(ShardId shard, BlockAddress address, byte[] data, CancellationToken cancellationToken)
    {
        var view = _view();
        var coding = view.Network.ErasureCoding;
        if (!coding.Applies(data.Length))
        {
            return false;
        }
        var holders = FragmentPlacement.HoldersOf(view.Placement.Ring, address, coding.TotalFragments);
        if (holders.Length < coding.TotalFragments)
        {
            LogFragmentsFellBack(address.ToString(), coding.Scheme, $"only {holders.Length} nodes are Up");
            return false;
        }
        if (holders.FirstOrDefault(view.Unreachable.Contains) is { IsNone: false } away)
        {
            LogFragmentsFellBack(address.ToString(), coding.Scheme, $"holder {away} is unreachable");
            return false;
        }
        var records = FragmentRecords.Cut(CodecFor(coding), address, data);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        attempt.CancelAfter(_options.AttemptTimeout);
        var stored = await Task.WhenAll(holders.Select((node, i) => StoreFragmentOnAsync(node, shard, address, records[i], attempt.Token))).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (stored.All(s => s))
        {
            return true;
        }
        // The fragments that did land stay; the repair pass completes them (the block then exists in both forms).
        LogFragmentsFellBack(address.ToString(), coding.Scheme, $"{stored.Count(s => !s)} of {stored.Length} fragments were not acknowledged in time");
        return false;
    }

    // True once the fragment is durable on the node. Never throws: a failure is a missing acknowledgement.
    private async Task<bool> StoreFragmentOnAsync(NodeId node, ShardId shard, BlockAddress address, BlockFragment record, CancellationToken cancellationToken)
    {
        var request = new StoreFragmentRequest { Shard = (uint)shard.Value, Fragment = record.ToByteString() };
        try
        {
            if (node == _self)
            {
                return (await ServeStoreFragmentAsync(request, cancellationToken).ConfigureAwait(false)).Status == CopyStatus.Stored;
            }
            var call = await _forwarder.StoreFragmentAsync(node, request, _options.AttemptTimeout, cancellationToken).ConfigureAwait(false);
            if (call.Answer is { Status: CopyStatus.Invalid } refused)
            {
                LogCopyRefused(address.ToString(), node, refused.Reason);
            }
            return call.Answer is { Status: CopyStatus.Stored };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFragmentFailed(e, address.ToString(), (int)record.Index, node);
            return false;
        }
    }

    /// <summary>True when the network erasure-codes large immutable blocks.</summary>
    public bool IsCoding => _view().Network.ErasureCoding.IsOn;

    /// <summary>
    /// The immutable block at <paramref name="address"/> decoded from its fragments (checked against the address): the
    /// holders first, then every other node on the ring (fragments a repair has not moved yet); null when the block is
    /// not erasure-coded or fewer than K valid fragments that decode to the address answer.
    /// </summary>
    public async ValueTask<Block?> ReadFromFragmentsAsync(BlockAddress address, CancellationToken cancellationToken = default)
    {
        var view = _view();
        var coding = view.Network.ErasureCoding;
        if (!coding.IsOn)
        {
            return null;
        }
        var holders = FragmentPlacement.HoldersOf(view.Placement.Ring, address, coding.TotalFragments);
        var rest = view.Placement.Ring.Nodes.Where(n => !holders.Contains(n)).ToImmutableArray();
        var fromHolders = await DecodeAsync(address, coding, holders, cancellationToken).ConfigureAwait(false);
        // A block with no fragment on its holders is not coded (a small block, or one kept as copies): asking the whole
        // ring would only add a round trip to every such read.
        return fromHolders.Block
            ?? (rest.IsEmpty || fromHolders.Found == 0 ? null : (await DecodeAsync(address, coding, rest, cancellationToken).ConfigureAwait(false)).Block);
    }

    // Asks every node of `nodes` at once for its fragment and decodes as soon as K valid ones of distinct indexes are
    // in; a decode that does not hash to the address (a forged set of fragments) is retried with the others as they come.
    private async Task<(Block? Block, byte[]? Bytes, int Found)> DecodeAsync(BlockAddress address, ErasureCoding coding, IReadOnlyList<NodeId> nodes,
        CancellationToken cancellationToken)
    {
        var request = new ReadFragmentRequest { Address = ByteString.CopyFrom(address.ToArray()) };
        var pending = nodes.Select(n => n == _self ? ReadOwnFragmentAsync(address, coding, cancellationToken) : ReadRemoteFragmentAsync(n, request, address, coding, cancellationToken))
            .ToList();
        var fragments = new List<BlockFragment>();
        var attempts = 0;
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            if (await done.ConfigureAwait(false) is not { } fragment || fragments.Exists(f => f.Index == fragment.Index))
            {
                continue;
            }
            fragments.Add(fragment);
            if (fragments.Count < coding.DataFragments)
            {
                continue;
            }
            // Every set of K that includes the newcomer is new; the first one is usually the only one tried.
            foreach (var set in SetsWith(fragments, coding.DataFragments))
            {
                if (++attempts > MaxDecodeAttempts)
                {
                    return (null, null, fragments.Count);
                }
                if (TryDecode(address, coding, set) is { Block: not null } decoded)
                {
                    return (decoded.Block, decoded.Bytes, fragments.Count);
                }
            }
        }
        return (null, null, fragments.Count);
    }

    private (Block? Block, byte[]? Bytes) TryDecode(BlockAddress address, ErasureCoding coding, IReadOnlyList<BlockFragment> set)
    {
        var blockLength = (int)set[0].BlockLength;
        if (set.Any(f => (int)f.BlockLength != blockLength))
        {
            return (null, null);
        }
        var bytes = CodecFor(coding).Decode([.. set.Select(f => new Fragment((int)f.Index, f.Data.Memory))], blockLength);
        return Checked(bytes, address, out _) is { } block ? (block, bytes) : (null, null);
    }

    // The K-subsets of `fragments` that contain its last element, in a fixed order.
    private static IEnumerable<List<BlockFragment>> SetsWith(List<BlockFragment> fragments, int size)
    {
        var newest = fragments[^1];
        var others = fragments.Take(fragments.Count - 1).ToList();
        foreach (var rest in Combinations(others, size - 1, 0))
        {
            rest.Add(newest);
            yield return rest;
        }
    }

    private static IEnumerable<List<BlockFragment>> Combinations(List<BlockFragment> items, int size, int from)
    {
        if (size == 0)
        {
            yield return [];
            yield break;
        }
        for (var i = from; i <= items.Count - size; i++)
        {
            foreach (var tail in Combinations(items, size - 1, i + 1))
            {
                tail.Insert(0, items[i]);
                yield return tail;
            }
        }
    }

    private async Task<BlockFragment?> ReadRemoteFragmentAsync(NodeId node, ReadFragmentRequest request, BlockAddress address, ErasureCoding coding,
        CancellationToken cancellationToken)
    {
        var reply = await _forwarder.ReadFragmentAsync(node, request, _options.AttemptTimeout, cancellationToken).ConfigureAwait(false);
        if (reply is not { Found: true })
        {
            return null;
        }
        BlockFragment record;
        try
        {
            record = BlockFragment.Parser.ParseFrom(reply.Fragment);
        }
        catch (InvalidProtocolBufferException e)
        {
            Interlocked.Increment(ref _badFragmentsFound);
            LogBadFragment(address.ToString(), node, "it does not parse: " + e.Message);
            return null;
        }
        if (FragmentRecords.Problem(record, address, coding) is { } problem)
        {
            Interlocked.Increment(ref _badFragmentsFound);
            LogBadFragment(address.ToString(), node, problem);
            return null;
        }
        return record;
    }

    // This node's fragment when it is sound; a bad one is dropped (the repair pass rebuilds it).
    private async Task<BlockFragment?> ReadOwnFragmentAsync(BlockAddress address, ErasureCoding coding, CancellationToken cancellationToken)
    {
        if (await _silo.ReadBlockFragmentAsync(address, cancellationToken).ConfigureAwait(false) is not { } bytes)
        {
            return null;
        }
        string? problem;
        BlockFragment? record = null;
        try
        {
            record = BlockFragment.Parser.ParseFrom(bytes);
            problem = FragmentRecords.Problem(record, address, coding);
        }
        catch (InvalidProtocolBufferException e)
        {
            problem = "it does not parse: " + e.Message;
        }
        if (problem is null)
        {
            return record;
        }
        Interlocked.Increment(ref _badFragmentsFound);
        LogBadFragment(address.ToString(), _self, problem);
        await _silo.CommitAsync(new SiloBatch().DeleteBlockFragment(address), cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Stores a fragment another node (or this one) sent, durably, once it checks out. A node keeps one fragment
    /// per block: another index of a block it holds is answered HOLDS_OTHER and not stored.</summary>
    public async Task<StoreCopyReply> ServeStoreFragmentAsync(StoreFragmentRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var coding = _view().Network.ErasureCoding;
        if (!coding.IsOn)
        {
            return Refused("this network does not erasure-code blocks");
        }
        BlockFragment record;
        try
        {
            record = BlockFragment.Parser.ParseFrom(request.Fragment);
        }
        catch (InvalidProtocolBufferException e)
        {
            return Refused($"the fragment does not parse: {e.Message}");
        }
        if (!BlockAddress.TryFromBytes(record.Address.Span, out var address) || !address.IsImmutable)
        {
            return Refused("only an immutable block is stored as fragments");
        }
        var shard = _layout.ShardOf(address);
        if (request.Shard != (uint)shard.Value)
        {
            return Refused($"block {address} belongs to shard {shard}, not {request.Shard}");
        }
        if (FragmentRecords.Problem(record, address, coding) is { } problem)
        {
            return Refused($"fragment of block {address}: {problem}");
        }
        if (await _silo.IsBlockRemovedAsync(address, cancellationToken).ConfigureAwait(false))
        {
            return new StoreCopyReply { Status = CopyStatus.Removed, Reason = $"block {address} was removed here" };
        }
        if (await ReadOwnFragmentAsync(address, coding, cancellationToken).ConfigureAwait(false) is { } held && held.Index != record.Index)
        {
            return new StoreCopyReply { Status = CopyStatus.HoldsOther, Reason = $"node {_self} holds fragment {held.Index} of block {address}" };
        }
        try
        {
            await _silo.CommitAsync(new SiloBatch().PutBlockFragment(shard, address, (int)record.Index, request.Fragment.ToByteArray()), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            LogStoreFailed(e, address.ToString());
            return new StoreCopyReply { Status = CopyStatus.Dropped, Reason = $"node {_self} could not store it: {e.Message}" };
        }
        return new StoreCopyReply { Status = CopyStatus.Stored };
    }

    /// <summary>This node's own fragment of a block when it is sound; a bad one is dropped and reported as not found.</summary>
    public async Task<ReadFragmentReply> ServeReadFragmentAsync(ReadFragmentRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var coding = _view().Network.ErasureCoding;
        if (!coding.IsOn || !BlockAddress.TryFromBytes(request.Address.Span, out var address))
        {
            return new ReadFragmentReply { Found = false };
        }
        var record = await ReadOwnFragmentAsync(address, coding, cancellationToken).ConfigureAwait(false);
        return record is null ? new ReadFragmentReply { Found = false } : new ReadFragmentReply { Found = true, Fragment = record.ToByteString() };
    }

    /// <summary>Which fragment this node holds of each asked block, and whether it saw the block removed (anti-entropy).</summary>
    public async Task<FragmentStatusReply> ServeFragmentStatusAsync(FragmentStatusRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Shard >= (uint)_layout.ShardCount || request.Addresses.Count > MaxListLimit)
        {
            return new FragmentStatusReply { Complete = false };
        }
        var asked = new List<BlockAddress>(request.Addresses.Count);
        foreach (var bytes in request.Addresses)
        {
            if (!BlockAddress.TryFromBytes(bytes.Span, out var address))
            {
                return new FragmentStatusReply { Complete = false };
            }
            asked.Add(address);
        }
        BlockAddress? after = null;
        if (!request.After.IsEmpty)
        {
            if (!BlockAddress.TryFromBytes(request.After.Span, out var from))
            {
                return new FragmentStatusReply { Complete = false };
            }
            after = from;
        }
        var held = new Dictionary<BlockAddress, int>();
        if (asked.Count > 0)
        {
            var last = asked.Max();
            // This node's fragments in the asked range, a page at a time; more than a bounded walk makes the answer incomplete.
            for (var pages = 0; ; pages++)
            {
                if (pages == 8)
                {
                    return new FragmentStatusReply { Complete = false };
                }
                var page = await _silo.ListBlockFragmentsAsync(new ShardId((int)request.Shard), after, MaxListLimit, cancellationToken).ConfigureAwait(false);
                foreach (var fragment in page)
                {
                    held[fragment.Address] = fragment.Index;
                }
                if (page.Count < MaxListLimit || page[^1].Address.CompareTo(last) >= 0)
                {
                    break;
                }
                after = page[^1].Address;
            }
        }
        var reply = new FragmentStatusReply { Complete = true };
        foreach (var address in asked)
        {
            reply.Indexes.Add(held.TryGetValue(address, out var index) ? index : -1);
            reply.Removed.Add(await _silo.IsBlockRemovedAsync(address, cancellationToken).ConfigureAwait(false));
        }
        return reply;
    }

    /// <summary>
    /// The fragment half of an anti-entropy pass over one shard: for each page of this node's fragments, asks every
    /// other node on the ring which fragments it holds of those blocks and carries out <see cref="FragmentRepairPlan"/>.
    /// Returns the budget left.
    /// </summary>
    private async Task<int> RepairFragmentsAsync(ShardId shard, ClusterView view, int budget, CancellationToken cancellationToken)
    {
        var coding = view.Network.ErasureCoding;
        if (!coding.IsOn)
        {
            return budget;
        }
        var others = view.Placement.Ring.Nodes.Where(n => n != _self).ToList();
        BlockAddress? after = null;
        while (budget > 0)
        {
            var page = await _silo.ListBlockFragmentsAsync(shard, after, _options.AntiEntropyPageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                break;
            }
            var request = new FragmentStatusRequest
            {
                Shard = (uint)shard.Value,
                After = after is { } a ? ByteString.CopyFrom(a.ToArray()) : ByteString.Empty,
            };
            request.Addresses.AddRange(page.Select(f => ByteString.CopyFrom(f.Address.ToArray())));
            var replies = await Task.WhenAll(others.Select(n => _forwarder.FragmentStatusAsync(n, request, _options.AttemptTimeout, cancellationToken)))
                .ConfigureAwait(false);
            for (var k = 0; k < page.Count && budget > 0; k++)
            {
                var answers = new Dictionary<NodeId, int>();
                var removed = false;
                for (var i = 0; i < others.Count; i++)
                {
                    if (replies[i] is { Complete: true } reply && reply.Indexes.Count == page.Count && reply.Removed.Count == page.Count)
                    {
                        answers[others[i]] = reply.Indexes[k];
                        removed |= reply.Removed[k];
                    }
                }
                var address = page[k].Address;
                var holders = FragmentPlacement.HoldersOf(view.Placement.Ring, address, coding.TotalFragments);
                var plan = FragmentRepairPlan.Decide(_self, page[k].Index, holders, coding, answers, removed);
                if (plan.Unrecoverable)
                {
                    LogUnrecoverable(address.ToString(), coding.DataFragments);
                }
                if (plan.Count == 0)
                {
                    continue;
                }
                budget -= plan.Count;
                await CarryOutAsync(shard, address, coding, plan, answers, cancellationToken).ConfigureAwait(false);
            }
            if (page.Count < _options.AntiEntropyPageSize)
            {
                break;
            }
            after = page[^1].Address;
        }
        return budget;
    }

    private async Task CarryOutAsync(ShardId shard, BlockAddress address, ErasureCoding coding, FragmentRepairPlan plan, Dictionary<NodeId, int> answers,
        CancellationToken cancellationToken)
    {
        if (!plan.SendOwnTo.IsNone && await ReadOwnFragmentAsync(address, coding, cancellationToken).ConfigureAwait(false) is { } own)
        {
            if (await StoreFragmentOnAsync(plan.SendOwnTo, shard, address, own, cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _fragmentsSent);
            }
            else
            {
                LogFragmentRepairFailed(address.ToString(), (int)own.Index, plan.SendOwnTo, "not acknowledged");
            }
        }
        if (plan.Rebuilds.Length > 0)
        {
            // Rebuilt from a decode checked against the address, so a repair never spreads a bad fragment.
            var sources = answers.Where(a => a.Value >= 0).Select(a => a.Key).Prepend(_self).ToList();
            var (_, bytes, _) = await DecodeAsync(address, coding, sources, cancellationToken).ConfigureAwait(false);
            if (bytes is null)
            {
                LogFragmentRepairFailed(address.ToString(), plan.Rebuilds[0].Index, plan.Rebuilds[0].Target, $"fewer than {coding.DataFragments} valid fragments answered");
            }
            else
            {
                var records = FragmentRecords.Cut(CodecFor(coding), address, bytes);
                foreach (var rebuild in plan.Rebuilds)
                {
                    if (await StoreFragmentOnAsync(rebuild.Target, shard, address, records[rebuild.Index], cancellationToken).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref _fragmentsRebuilt);
                    }
                    else
                    {
                        LogFragmentRepairFailed(address.ToString(), rebuild.Index, rebuild.Target, "not acknowledged");
                    }
                }
            }
        }
        if (plan.DropOwn)
        {
            await _silo.CommitAsync(new SiloBatch().DeleteBlockFragment(address), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _fragmentsDropped);
        }
    }

    // The network's coding is fixed, so one codec serves every block.
    private ReedSolomonCodec CodecFor(ErasureCoding coding)
    {
        var codec = _codec;
        if (codec is null || codec.DataFragments != coding.DataFragments || codec.ParityFragments != coding.ParityFragments)
        {
            codec = new ReedSolomonCodec(coding.DataFragments, coding.ParityFragments);
            _codec = codec;
        }
        return codec;
    }
}
