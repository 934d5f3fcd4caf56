using Memo.Node.Routing;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards.Forwarding;

/// <summary>What serves the calls other nodes forward to this one: the node's shard host (its replicas).</summary>
public interface IForwardedCallHandler
{
    /// <summary>The network's shard layout (requests naming another shard are refused as invalid).</summary>
    ShardLayout Layout { get; }

    /// <summary>Proposes a command to this node's replica of the shard; expected outcomes are values in the reply.</summary>
    Task<ProposeReply> ServeProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken);

    /// <summary>Proposes an async write: the first reply says APPENDED once the leader's log holds it durably (or is the
    /// final reply, when that comes first). This default answers only at the end, which an async write may always do.</summary>
    ServedProposal ServeProposeAcknowledgedAtAppend(ShardId shard, ShardCommand command, CancellationToken cancellationToken)
    {
        var final = ServeProposeAsync(shard, command, cancellationToken);
        return new ServedProposal(final, final);
    }

    /// <summary>A linearizable read (an entry, a block or a scan) with this node's replicas.</summary>
    Task<ReadReply> ServeReadAsync(ReadRequest request, CancellationToken cancellationToken);

    /// <summary>The status of every replica hosted here, now; cheap and synchronous.</summary>
    ReplicaStatusReply ServeStatus();

    /// <summary>Stores a copy of an immutable block durably after checking its address (the direct block path).
    /// A handler that keeps no copies answers DROPPED.</summary>
    Task<StoreCopyReply> ServeStoreCopyAsync(StoreCopyRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new StoreCopyReply { Status = CopyStatus.Dropped, Reason = "this node keeps no block copies" });

    /// <summary>This node's own valid copy of a block, if it holds one.</summary>
    Task<ReadCopyReply> ServeReadCopyAsync(ReadCopyRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new ReadCopyReply { Found = false });

    /// <summary>The addresses of this node's block copies of a shard in a range (anti-entropy).</summary>
    Task<ListCopiesReply> ServeListCopiesAsync(ListCopiesRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new ListCopiesReply { Complete = true });

    /// <summary>Stores this node's fragment of an erasure-coded block durably after checking it. A handler that keeps
    /// no fragments answers DROPPED.</summary>
    Task<StoreCopyReply> ServeStoreFragmentAsync(StoreFragmentRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new StoreCopyReply { Status = CopyStatus.Dropped, Reason = "this node keeps no block fragments" });

    /// <summary>This node's own valid fragment of a block, if it holds one.</summary>
    Task<ReadFragmentReply> ServeReadFragmentAsync(ReadFragmentRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new ReadFragmentReply { Found = false });

    /// <summary>Which fragment this node holds of each asked block (anti-entropy). A handler that keeps none cannot say.</summary>
    Task<FragmentStatusReply> ServeFragmentStatusAsync(FragmentStatusRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new FragmentStatusReply { Complete = false });
}
