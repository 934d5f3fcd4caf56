using Google.Protobuf;
using Grpc.Core;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Api;

/// <summary>
/// The <c>memo.vs.ValueStore</c> gRPC service. Validates every block before it reaches a shard (malformed
/// → INVALID_ARGUMENT, address or signature mismatch → PERMISSION_DENIED, as memo maps them), seals
/// unsigned blocks the node owns with the node's key (memo's gRPC server acts with its own key for clients
/// that send unsigned data), routes writes to the block's shard and verifies blocks again on read. Reads of
/// mutable blocks are linearizable (confirmed by the shard's leader); an immutable block is read from any replica
/// holding a valid copy, else from the leader. With <c>memo.network.versions</c> above 1 (<paramref name="keepVersions"/>)
/// a mutable block's older versions are kept (<see cref="BlockVersions"/>): Fetch with a version and ListVersions read them.
/// ACBs and GBs (access-controlled and group blocks) take the mutable path (Insert, Update with version + 1, Fetch) but
/// are signed by their owner and editor client-side: the node never signs them, and an ACB is removed by its owner's
/// tombstone (an Update), not by Delete. With <c>memo.network.erasure</c> on (<paramref name="erasure"/>), an immutable block
/// above the threshold takes the direct block path as K + M fragments instead of a Raft command
/// (<see cref="IShardGateway.StoreImmutableBlockAsync"/>), and Fetch finds it there.
/// </summary>
public sealed class ValueStoreService(IShardGateway shards, MemoKeyPair nodeKey, int keepVersions = 1, Erasure.ErasureCoding erasure = default)
    : Memo.Protocol.ValueStore.ValueStore.ValueStoreBase
{
    // Sent only when more than one version is kept, so the commands of an unversioned network are as before.
    private uint KeepVersions => keepVersions > 1 ? (uint)keepVersions : 0;

    /// <inheritdoc />
    public override Task<Block> MakeImmutableBlock(MakeImmutableBlockRequest request, ServerCallContext context)
    {
        var owner = request.Owner.IsEmpty ? nodeKey.PublicKey : ParseKey(request.Owner, "owner");
        return Task.FromResult(BlockFactory.MakeImmutable(request.Data.Span, owner));
    }

    /// <inheritdoc />
    public override Task<Block> MakeMutableBlock(MakeMutableBlockRequest request, ServerCallContext context) =>
        Task.FromResult(BlockFactory.MakeMutableUnsigned(nodeKey.PublicKey));

    /// <inheritdoc />
    public override Task<Block> MakeNamedBlock(MakeNamedBlockRequest request, ServerCallContext context)
    {
        RequireName(request.Key);
        var block = BlockFactory.MakeNamed(nodeKey, request.Key.Span, ReadOnlySpan<byte>.Empty);
        block.Signature = ByteString.Empty; // sealed on insert, once the caller has set the data
        return Task.FromResult(block);
    }

    /// <inheritdoc />
    public override Task<NamedBlockAddressResponse> NamedBlockAddress(NamedBlockAddressRequest request, ServerCallContext context)
    {
        RequireName(request.Key);
        var owner = request.OwnerKey.IsEmpty ? nodeKey.PublicKey : ParseKey(request.OwnerKey, "owner_key");
        var address = BlockAddresses.Named(owner, request.Key.Span);
        return Task.FromResult(new NamedBlockAddressResponse { Address = ByteString.CopyFrom(address.ToArray()) });
    }

    /// <inheritdoc />
    public override async Task<InsertResponse> Insert(InsertRequest request, ServerCallContext context)
    {
        var block = request.Block ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "The request carries no block."));
        await InsertAsync(block, context.CancellationToken).ConfigureAwait(false);
        return new InsertResponse();
    }

    /// <inheritdoc />
    public override async Task<InsertImmutableBlockResponse> InsertImmutableBlock(InsertImmutableBlockRequest request, ServerCallContext context)
    {
        var owner = request.Owner.IsEmpty ? nodeKey.PublicKey : ParseKey(request.Owner, "owner");
        var block = BlockFactory.MakeImmutable(request.Data.Span, owner);
        await InsertAsync(block, context.CancellationToken).ConfigureAwait(false);
        return new InsertImmutableBlockResponse { Address = block.Address };
    }

    /// <inheritdoc />
    public override async Task<InsertMutableBlockResponse> InsertMutableBlock(InsertMutableBlockRequest request, ServerCallContext context)
    {
        var block = BlockFactory.MakeMutable(nodeKey, request.Data.Span);
        await InsertAsync(block, context.CancellationToken).ConfigureAwait(false);
        return new InsertMutableBlockResponse { Address = block.Address };
    }

    /// <inheritdoc />
    public override async Task<FetchResponse> Fetch(FetchRequest request, ServerCallContext context)
    {
        var address = ParseAddress(request.Address);
        if (request.HasVersion)
        {
            return new FetchResponse { Block = await FetchVersionAsync(address, request.Version, context.CancellationToken).ConfigureAwait(false) };
        }
        Block? block = null;
        if (address.IsImmutable)
        {
            var nearby = await shards.ReadBlockAsync(address, linearizable: false, context.CancellationToken).ConfigureAwait(false);
            if (nearby is not null)
            {
                var candidate = Block.Parser.ParseFrom(nearby);
                block = BlockValidator.ValidateAt(candidate, address).IsValid ? candidate : null;
            }
            // An erasure-coded block is in no shard's Raft state: decoded from its fragments (checked against the address).
            if (block is null && erasure.IsOn)
            {
                block = await shards.ReadImmutableBlockAsync(address, context.CancellationToken).ConfigureAwait(false);
            }
        }
        if (block is null)
        {
            var bytes = await shards.ReadBlockAsync(address, linearizable: true, context.CancellationToken).ConfigureAwait(false)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"No block at {address}."));
            block = Block.Parser.ParseFrom(bytes);
            var check = BlockValidator.ValidateAt(block, address);
            if (!check.IsValid)
            {
                throw new RpcException(new Status(StatusCode.DataLoss, $"The stored block {address} fails validation: {check.Reason}"));
            }
        }
        if (request.HasLocalVersion && block.TryGetKind(out var kind) && kind.IsVersioned() && block.Version == request.LocalVersion)
        {
            return new FetchResponse(); // the caller's copy is current
        }
        return new FetchResponse { Block = block };
    }

    /// <inheritdoc />
    public override async Task<ListBlockVersionsResponse> ListVersions(ListBlockVersionsRequest request, ServerCallContext context)
    {
        var address = ParseAddress(request.Address);
        var current = await ReadMutableAsync(address, context.CancellationToken).ConfigureAwait(false);
        var response = new ListBlockVersionsResponse();
        response.Versions.Add(current.Version);
        // The kept older versions are at most keepVersions - 1 consecutive ones below the current: probe each (a
        // linearizable read at the shard's leader, like the current one).
        for (var version = current.Version - 1; version >= Math.Max(0, current.Version - (keepVersions - 1)); version--)
        {
            if (await ReadKeptVersionAsync(address, version, context.CancellationToken).ConfigureAwait(false) is not null)
            {
                response.Versions.Add(version);
            }
        }
        return response;
    }

    // Version `version` of the mutable block at `address`: the current block when it is that version, else the kept
    // one at its version address; NOT_FOUND when neither.
    private async Task<Block> FetchVersionAsync(BlockAddress address, long version, CancellationToken cancellationToken)
    {
        var current = await ReadMutableAsync(address, cancellationToken).ConfigureAwait(false);
        if (current.Version == version)
        {
            return current;
        }
        return (version < current.Version ? await ReadKeptVersionAsync(address, version, cancellationToken).ConfigureAwait(false) : null)
            ?? throw new RpcException(new Status(StatusCode.NotFound,
                $"Version {version} of block {address} is not kept; the current version is {current.Version} and the network keeps {keepVersions}."));
    }

    private async Task<Block> ReadMutableAsync(BlockAddress address, CancellationToken cancellationToken)
    {
        if (address.IsImmutable)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Versions are kept of mutable blocks only; {address} is immutable."));
        }
        var bytes = await shards.ReadBlockAsync(address, linearizable: true, cancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No block at {address}."));
        var block = Block.Parser.ParseFrom(bytes);
        var check = BlockValidator.ValidateAt(block, address);
        if (!check.IsValid)
        {
            throw new RpcException(new Status(StatusCode.DataLoss, $"The stored block {address} fails validation: {check.Reason}"));
        }
        if (block.Type != "OKB")
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Versions are kept of mutable (OKB) blocks only; {address} is {block.Type}."));
        }
        return block;
    }

    private async Task<Block?> ReadKeptVersionAsync(BlockAddress address, long version, CancellationToken cancellationToken)
    {
        var at = BlockVersions.AddressOf(address, version);
        if (await shards.ReadBlockAsync(at, linearizable: true, cancellationToken).ConfigureAwait(false) is not { } bytes)
        {
            return null;
        }
        var kept = Block.Parser.ParseFrom(bytes);
        if (kept.Version != version || !BlockValidator.ValidateAt(kept, address).IsValid)
        {
            throw new RpcException(new Status(StatusCode.DataLoss, $"The kept version {version} of block {address} fails validation."));
        }
        return kept;
    }

    private async Task InsertAsync(Block block, CancellationToken cancellationToken)
    {
        Normalize(block);
        SealIfOwned(block);
        Validate(block);
        if (erasure.Applies(block.CalculateSize()) && BlockAddress.TryFromBytes(block.Address.Span, out var address) && address.IsImmutable)
        {
            // Self-certifying and large: K + M fragments on K + M nodes, no consensus (docs/ARCHITECTURE.md, "Policies:
            // erasure coding"). Storing it twice stores the same fragments.
            await shards.StoreImmutableBlockAsync(block, cancellationToken).ConfigureAwait(false);
            return;
        }
        var result = await Submit(block, new ShardCommand { Format = ShardStateMachine.Format, InsertBlock = new InsertBlock { Block = block } }, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case ShardResult.BlockStored or ShardResult.BlockAlreadyStored:
                return;
            case ShardResult.BlockExists:
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"A block already exists at {Hex(block.Address)}."));
            default:
                throw Unexpected(result);
        }
    }

    /// <inheritdoc />
    public override async Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context)
    {
        var block = request.Block ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "The request carries no block."));
        Normalize(block);
        if (!block.TryGetKind(out var kind) || !kind.IsVersioned())
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Only mutable (OKB, ACB, GB) blocks can be updated, not {(block.Type.Length == 0 ? "an untyped block" : block.Type.Length <= 16 ? block.Type : "a block of an unknown type")}."));
        }
        SealIfOwned(block);
        Validate(block);
        var result = await Submit(block, new ShardCommand { Format = ShardStateMachine.Format, UpdateBlock = new UpdateBlock { Block = block, KeepVersions = KeepVersions } }, context.CancellationToken).ConfigureAwait(false);
        return result switch
        {
            ShardResult.BlockStored => new UpdateResponse(),
            ShardResult.BlockConflict conflict => new UpdateResponse { Current = conflict.Current },
            _ => throw Unexpected(result),
        };
    }

    /// <inheritdoc />
    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        var address = ParseAddress(request.Address);
        var signature = request.Signature;
        // An erasure-coded block is in no shard's Raft state: the delete carries it (decoded, checked against the address).
        byte[]? raftBytes = null;
        Block? coded = null;
        if (erasure.IsOn && address.IsImmutable)
        {
            raftBytes = await shards.ReadBlockAsync(address, linearizable: true, context.CancellationToken).ConfigureAwait(false);
            coded = raftBytes is null ? await shards.ReadImmutableBlockAsync(address, context.CancellationToken).ConfigureAwait(false) : null;
        }
        if (signature.IsEmpty)
        {
            // Unsigned removal: the node signs, but only for blocks it owns.
            var stored = coded ?? Block.Parser.ParseFrom(raftBytes ?? await shards.ReadBlockAsync(address, linearizable: true, context.CancellationToken).ConfigureAwait(false)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"No block at {address}.")));
            if (!IsOwnedByNode(stored))
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"The block {address} is not owned by this node; send the owner's removal signature."));
            }
            signature = ByteString.CopyFrom(BlockFactory.RemovalSignature(stored, nodeKey));
        }
        var result = await shards.ProposeAsync(shards.Layout.ShardOf(address), new ShardCommand
        {
            Format = ShardStateMachine.Format,
            DeleteBlock = new Shards.Wire.DeleteBlock { Address = request.Address, Signature = signature, KeepVersions = KeepVersions, Block = coded },
        }, context.CancellationToken).ConfigureAwait(false);
        return result is ShardResult.BlockRemoved ? new DeleteResponse() : throw Unexpected(result);
    }

    private Task<ShardResult> Submit(Block block, ShardCommand command, CancellationToken cancellationToken) =>
        shards.ProposeAsync(shards.Layout.ShardOf(BlockAddress.FromBytes(block.Address.Span)), command, cancellationToken);

    // memo accepts unencrypted payloads as data_plain; this network stores them as data.
    private static void Normalize(Block block)
    {
        if (block.PayloadCase == Block.PayloadOneofCase.DataPlain)
        {
            block.Data = block.DataPlain;
        }
    }

    private void SealIfOwned(Block block)
    {
        var unsignedOwned = block.Signature.IsEmpty && (block.Type is "OKB" or "NB")
            && (block.OwnerKey.IsEmpty || nodeKey.PublicKey.Matches(block.OwnerKey.Span));
        var unaddressedChb = block.Type == "CHB" && block.Address.IsEmpty;
        if (!unsignedOwned && !unaddressedChb)
        {
            return;
        }
        // TrySeal fills salt, owner key and address when empty and signs; Validate below reports any problem.
        _ = BlockFactory.TrySeal(block, nodeKey);
    }

    private bool IsOwnedByNode(Block block) =>
        nodeKey.PublicKey.Matches(block.GetOwnerSpki().Span);

    private static void Validate(Block block)
    {
        var check = BlockValidator.Validate(block);
        switch (check.Outcome)
        {
            case BlockCheckOutcome.Valid:
                return;
            case BlockCheckOutcome.Malformed:
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"Malformed block: {check.Reason}"));
            default:
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"Block rejected: {check.Reason}"));
        }
    }

    private static RpcException Unexpected(ShardResult result) => result switch
    {
        ShardResult.BlockMissing => new RpcException(new Status(StatusCode.NotFound, "No block at that address.")),
        ShardResult.BlockExists => new RpcException(new Status(StatusCode.AlreadyExists, "A block already exists at that address.")),
        ShardResult.Refused { Kind: BlockRejection.PermissionDenied } r => new RpcException(new Status(StatusCode.PermissionDenied, r.Reason)),
        ShardResult.Refused r => new RpcException(new Status(StatusCode.InvalidArgument, r.Reason)),
        ShardResult.BlockConflict => new RpcException(new Status(StatusCode.Aborted, "Version conflict.")),
        _ => new RpcException(new Status(StatusCode.Internal, $"Unexpected shard result {result.GetType().Name}.")),
    };

    private static BlockAddress ParseAddress(ByteString bytes) =>
        BlockAddress.TryFromBytes(bytes.Span, out var address)
            ? address
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"A block address is {BlockAddress.Length} bytes, not {bytes.Length}."));

    private static MemoPublicKey ParseKey(ByteString spki, string field) =>
        MemoPublicKey.TryFromSpki(spki.Span, out var key) && key is not null
            ? key
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"The {field} field is not a P-256 public key (DER SubjectPublicKeyInfo)."));

    private static void RequireName(ByteString name)
    {
        if (name.IsEmpty)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The named block's name (key) is empty."));
        }
        // Found by the API fuzzer: a longer name reached BlockFactory.MakeNamed, whose ArgumentException came back
        // as UNKNOWN. No named block can have such a name, so asking for its address is the same mistake.
        if (name.Length > BlockLimits.MaxNameBytes)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"A named block's name (key) is 1 to {BlockLimits.MaxNameBytes} bytes, not {name.Length}."));
        }
    }

    private static string Hex(ByteString bytes) => "0x" + Convert.ToHexStringLower(bytes.Span);
}
