using System.Runtime.InteropServices;
using Google.Protobuf;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Blocks.Copies;

/// <summary>The serving half: copies other nodes send, read and list here.</summary>
public sealed partial class BlockCopyStore
{
    private const int MaxListLimit = 10_000;

    /// <summary>Stores a copy another node sent, durably, once its address checks out against its content.</summary>
    public async Task<StoreCopyReply> ServeStoreCopyAsync(StoreCopyRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Off the caller's thread before the address check: the forwarder serves a request on the node's one inbound
        // pump, so hashing a 1 MiB copy there (0.6 ms) held up every peer message behind it, Raft's included
        // (docs/performance.md, "1 MiB on three nodes").
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        Block block;
        try
        {
            // The payload shares the request's bytes (no second array of the block's size); they never change.
            block = SharedPayloadParser.Parse(request.Block.Memory);
        }
        catch (InvalidProtocolBufferException e)
        {
            return Refused($"the block does not parse: {e.Message}");
        }
        if (!BlockAddress.TryFromBytes(block.Address.Span, out var address) || !address.IsImmutable)
        {
            return Refused("only an immutable block is stored as copies");
        }
        var shard = _layout.ShardOf(address);
        if (request.Shard != (uint)shard.Value)
        {
            return Refused($"block {address} belongs to shard {shard}, not {request.Shard}");
        }
        // The address is the hash of the content: a copy that fails this check is not the block it claims to be.
        var check = BlockValidator.ValidateAt(block, address);
        if (!check.IsValid)
        {
            return Refused($"block {address} fails validation: {check.Reason}");
        }
        // A copy of a block this node saw reclaimed is stale (its sender has not applied the reclaim yet, or was away):
        // taking it back would bring garbage back to life on every replica.
        if (await _silo.IsBlockRemovedAsync(address, cancellationToken).ConfigureAwait(false))
        {
            return new StoreCopyReply { Status = CopyStatus.Removed, Reason = $"block {address} was removed here" };
        }
        try
        {
            await _silo.CommitAsync(new SiloBatch().PutBlockCopy(shard, address, WholeArrayOf(request.Block)), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            LogStoreFailed(e, address.ToString());
            return new StoreCopyReply { Status = CopyStatus.Dropped, Reason = $"node {_self} could not store it: {e.Message}" };
        }
        return new StoreCopyReply { Status = CopyStatus.Stored };
    }

    /// <summary>This node's own copy of a block when it is valid; a bad copy is dropped and reported as not found.</summary>
    public async Task<ReadCopyReply> ServeReadCopyAsync(ReadCopyRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!BlockAddress.TryFromBytes(request.Address.Span, out var address))
        {
            return new ReadCopyReply { Found = false };
        }
        var block = await ReadLocalAsync(address, cancellationToken).ConfigureAwait(false);
        return block is null ? new ReadCopyReply { Found = false } : new ReadCopyReply { Found = true, Data = block.ToByteString() };
    }

    /// <summary>The addresses of this node's copies of a shard in the asked range (anti-entropy's comparison).</summary>
    public async Task<ListCopiesReply> ServeListCopiesAsync(ListCopiesRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Shard >= (uint)_layout.ShardCount)
        {
            return new ListCopiesReply { Complete = false };
        }
        BlockAddress? after = null;
        if (!request.After.IsEmpty)
        {
            if (!BlockAddress.TryFromBytes(request.After.Span, out var from))
            {
                return new ListCopiesReply { Complete = false };
            }
            after = from;
        }
        BlockAddress? through = null;
        if (!request.Through.IsEmpty)
        {
            if (!BlockAddress.TryFromBytes(request.Through.Span, out var to))
            {
                return new ListCopiesReply { Complete = false };
            }
            through = to;
        }
        var limit = (int)Math.Clamp(request.Limit, 1u, MaxListLimit);
        var found = await _silo.ListBlockCopiesAsync(new ShardId((int)request.Shard), after, limit + 1, cancellationToken).ConfigureAwait(false);
        var reply = new ListCopiesReply { Complete = true };
        foreach (var address in found)
        {
            if (through is { } end && address.CompareTo(end) > 0)
            {
                break;
            }
            if (reply.Addresses.Count == limit)
            {
                reply.Complete = false;
                break;
            }
            reply.Addresses.Add(ByteString.CopyFrom(address.ToArray()));
        }
        return reply;
    }

    private static StoreCopyReply Refused(string why) => new() { Status = CopyStatus.Invalid, Reason = why };

    // The bytes as one array for the silo, without a copy when the ByteString is a whole array already (one parsed
    // from the wire, or a copy put together from parts): a ByteString's bytes never change, and the silo only reads
    // them, so sharing the array is safe.
    private static byte[] WholeArrayOf(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToByteArray();
}
