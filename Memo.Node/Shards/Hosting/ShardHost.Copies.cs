using Memo.Node.Blocks.Copies;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards.Hosting;

/// <summary>The direct block path's hook: the host owns the node's <see cref="BlockCopyStore"/> and serves its calls.</summary>
public sealed partial class ShardHost
{
    /// <summary>Immutable blocks written straight to their replica set, and their anti-entropy.</summary>
    public BlockCopyStore Copies { get; }

    /// <inheritdoc />
    public Task<StoreCopyReply> ServeStoreCopyAsync(StoreCopyRequest request, CancellationToken cancellationToken) =>
        Copies.ServeStoreCopyAsync(request, cancellationToken);

    /// <inheritdoc />
    public Task<ReadCopyReply> ServeReadCopyAsync(ReadCopyRequest request, CancellationToken cancellationToken) =>
        Copies.ServeReadCopyAsync(request, cancellationToken);

    /// <inheritdoc />
    public Task<ListCopiesReply> ServeListCopiesAsync(ListCopiesRequest request, CancellationToken cancellationToken) =>
        Copies.ServeListCopiesAsync(request, cancellationToken);

    /// <inheritdoc />
    public Task<StoreCopyReply> ServeStoreFragmentAsync(StoreFragmentRequest request, CancellationToken cancellationToken) =>
        Copies.ServeStoreFragmentAsync(request, cancellationToken);

    /// <inheritdoc />
    public Task<ReadFragmentReply> ServeReadFragmentAsync(ReadFragmentRequest request, CancellationToken cancellationToken) =>
        Copies.ServeReadFragmentAsync(request, cancellationToken);

    /// <inheritdoc />
    public Task<FragmentStatusReply> ServeFragmentStatusAsync(FragmentStatusRequest request, CancellationToken cancellationToken) =>
        Copies.ServeFragmentStatusAsync(request, cancellationToken);
}
