using Google.Protobuf;
using Grpc.Core;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Routing;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Blocks.Copies;

/// <summary>
/// The direct block path: immutable blocks written straight to their shard's ring replica set, without consensus,
/// and kept on the ring by anti-entropy. One per node, owned by the shard host.
/// </summary>
/// <remarks>
/// <para>Design note (docs/ARCHITECTURE.md, "The direct block path"). An immutable block is self-certifying: its address
/// is the hash of its content, so every copy can be checked by whoever holds or reads it, and two copies of one
/// address are the same block. It needs no ordering, so it needs no Raft log: the writer sends it to every node of
/// <see cref="ClusterView.ReplicasOf"/> its shard at once (over the peer links, <see cref="StoreCopyRequest"/>), each
/// node checks the address against the content and stores the copy durably (a silo commit: fsynced) before it
/// answers, and <see cref="StoreAsync"/> completes at a majority of the set (<see cref="CopyQuorum"/>). Only then may a
/// key entry (one small Raft command) point at the block, so an entry never names a block no quorum holds.</para>
/// <para>Copies live beside the shard's Raft state, not in it (<see cref="SiloBatch.PutBlockCopy"/>): a snapshot
/// neither carries nor clears them. A reclaim is still a Raft command of the block's shard; applying it removes the
/// block either way it was stored, on every replica of the group.</para>
/// <para>Reads take any valid copy: this node's, then each other replica's (each checked against the address; a bad
/// copy is dropped where it was found, never served). Anti-entropy (<see cref="RunAntiEntropyPassAsync"/>) repairs
/// what placement changes and failures leave behind.</para>
/// </remarks>
public sealed partial class BlockCopyStore : IAsyncDisposable
{
    private readonly NodeId _self;
    private readonly ISilo _silo;
    private readonly ShardForwarder _forwarder;
    private readonly Func<ClusterView> _view;
    private readonly ShardLayout _layout;
    private readonly BlockCopyOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _antiEntropy;
    private long _copiesSent;
    private long _copiesDropped;
    private long _badCopiesFound;
    private long _staleCopiesRemoved;

    /// <summary>Creates the store; <see cref="Start"/> starts its anti-entropy.</summary>
    /// <param name="self">This node.</param>
    /// <param name="silo">The node's silo (where copies live).</param>
    /// <param name="forwarder">The node-to-node calls.</param>
    /// <param name="view">The current cluster view (placement).</param>
    /// <param name="layout">The shard layout.</param>
    /// <param name="options">Limits.</param>
    /// <param name="logger">Where bad copies and failed repairs are logged.</param>
    public BlockCopyStore(NodeId self, ISilo silo, ShardForwarder forwarder, Func<ClusterView> view, ShardLayout layout,
        BlockCopyOptions options, ILogger<BlockCopyStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new ArgumentException("Invalid block copy options: " + string.Join("; ", problems), nameof(options));
        }
        _self = self;
        _silo = silo;
        _forwarder = forwarder;
        _view = view;
        _layout = layout;
        _options = options;
        _logger = logger;
    }

    /// <summary>Copies this node's anti-entropy sent to other replicas so far.</summary>
    public long CopiesSent => Interlocked.Read(ref _copiesSent);

    /// <summary>Copies this node's anti-entropy dropped here because placement moved away and every replica holds them.</summary>
    public long CopiesDropped => Interlocked.Read(ref _copiesDropped);

    /// <summary>Copies found here that failed their address check, and were dropped.</summary>
    public long BadCopiesFound => Interlocked.Read(ref _badCopiesFound);

    /// <summary>Copies removed here because another replica had seen their block reclaimed.</summary>
    public long StaleCopiesRemoved => Interlocked.Read(ref _staleCopiesRemoved);

    /// <summary>
    /// Stores <paramref name="block"/> (immutable, already validated) on its shard's replica set and completes once a
    /// majority of the set holds a durable copy. Copies still on their way after that are left to finish (and to
    /// anti-entropy if they fail).
    /// </summary>
    /// <exception cref="ArgumentException">The block is not immutable.</exception>
    /// <exception cref="RpcException">UNAVAILABLE: no quorum of durable copies within <see cref="BlockCopyOptions.RequestTimeout"/>.</exception>
    public async Task StoreAsync(Block block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (!BlockAddress.TryFromBytes(block.Address.Span, out var address) || !address.IsImmutable)
        {
            throw new ArgumentException("Only an immutable block can be stored as copies.", nameof(block));
        }
        var shard = _layout.ShardOf(address);
        // Encoded once: the local commit keeps the array, every peer request wraps it without a copy. A key-value write's
        // large value was parsed into the room of its encoding (KvWriteRequestParser), which is then filled, not copied.
        var data = ImmutableBlockBuffer.EncodingOf(block);
        // Above the erasure threshold the block goes out as K + M fragments instead (BlockCopyStore.Fragments.cs).
        if (await TryStoreFragmentsAsync(shard, address, data, cancellationToken).ConfigureAwait(false))
        {
            return;
        }
        var wrapped = UnsafeByteOperations.UnsafeWrap(data);
        var durable = new HashSet<NodeId>();
        var backoff = TimeSpan.FromMilliseconds(10);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        try
        {
            while (true)
            {
                var replicas = _view().ReplicasOf(shard);
                if (CopyQuorum.IsReached(replicas, durable))
                {
                    return;
                }
                var pending = replicas.Nodes.Where(n => !durable.Contains(n))
                    .Select(n => (Node: n, Task: StoreOneAsync(n, shard, address, data, wrapped)))
                    .ToList();
                while (pending.Count > 0)
                {
                    var done = await Task.WhenAny(pending.Select(p => p.Task)).WaitAsync(deadline.Token).ConfigureAwait(false);
                    var index = pending.FindIndex(p => p.Task == done);
                    if (await done.ConfigureAwait(false))
                    {
                        durable.Add(pending[index].Node);
                    }
                    pending.RemoveAt(index);
                    if (CopyQuorum.IsReached(replicas, durable))
                    {
                        return;
                    }
                }
                await Task.Delay(backoff, deadline.Token).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMilliseconds(400).Ticks));
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"Block {address}: only {durable.Count} durable copies within {_options.RequestTimeout.TotalSeconds:F0} s, fewer than a majority of its replica set."));
        }
    }

    /// <summary>
    /// A valid copy of the immutable block at <paramref name="address"/>: this node's, else (with erasure coding on) the
    /// block decoded from the first K valid fragments, else the first valid copy another node of its replica set sends;
    /// null when none has one. A copy or decode that fails its address check is never returned.
    /// </summary>
    public async ValueTask<Block?> ReadAsync(BlockAddress address, CancellationToken cancellationToken = default)
    {
        if (await ReadLocalAsync(address, cancellationToken).ConfigureAwait(false) is { } local)
        {
            return local;
        }
        if (await ReadFromFragmentsAsync(address, cancellationToken).ConfigureAwait(false) is { } decoded)
        {
            return decoded;
        }
        var request = new ReadCopyRequest { Address = ByteString.CopyFrom(address.ToArray()) };
        foreach (var node in _view().ReplicasOf(_layout.ShardOf(address)).Nodes)
        {
            if (node == _self)
            {
                continue;
            }
            var reply = await _forwarder.ReadCopyAsync(node, request, _options.AttemptTimeout, cancellationToken).ConfigureAwait(false);
            if (reply is not { Found: true })
            {
                continue;
            }
            if (Checked(reply.Data.Memory, address, out var reason) is { } block)
            {
                return block;
            }
            Interlocked.Increment(ref _badCopiesFound);
            LogBadRemoteCopy(address.ToString(), node, reason);
        }
        return null;
    }

    /// <summary>Starts the periodic anti-entropy pass (unless <see cref="BlockCopyOptions.AntiEntropyInterval"/> is 0).</summary>
    public void Start()
    {
        if (_options.AntiEntropyInterval > TimeSpan.Zero && _antiEntropy is null)
        {
            _antiEntropy = Task.Run(RunAntiEntropyAsync);
        }
    }

    /// <summary>Stops the anti-entropy and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_antiEntropy is not null)
        {
            await _antiEntropy.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _stopping.Dispose();
    }

    // True once the copy is durable on the node. Never throws: a failure is a missing acknowledgement.
    private async Task<bool> StoreOneAsync(NodeId node, ShardId shard, BlockAddress address, byte[] data, ByteString wrapped)
    {
        try
        {
            if (node == _self)
            {
                await _silo.CommitAsync(new SiloBatch().PutBlockCopy(shard, address, data), _stopping.Token).ConfigureAwait(false);
                return true;
            }
            var call = await _forwarder.StoreCopyAsync(node, new StoreCopyRequest { Shard = (uint)shard.Value, Block = wrapped },
                _options.AttemptTimeout, _stopping.Token).ConfigureAwait(false);
            if (call.Answer is { Status: CopyStatus.Invalid } refused)
            {
                // The block was validated before it was sent: a refusal is a bug on one side, not a reason to retry.
                LogCopyRefused(address.ToString(), node, refused.Reason);
            }
            return call.Answer is { Status: CopyStatus.Stored };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogCopyFailed(e, address.ToString(), node);
            return false;
        }
    }

    // This node's copy when it is valid; a bad copy is dropped (anti-entropy brings a good one back). A copy the silo
    // reports damaged (its copy file missing or cut short) is a bad copy too: the read goes on to the other replicas.
    private async ValueTask<Block?> ReadLocalAsync(BlockAddress address, CancellationToken cancellationToken)
    {
        byte[]? bytes;
        string reason;
        try
        {
            bytes = await _silo.ReadBlockAsync(address, cancellationToken).ConfigureAwait(false);
            if (bytes is null)
            {
                return null;
            }
            if (Checked(bytes, address, out reason) is { } block)
            {
                return block;
            }
        }
        catch (SiloCorruptException e)
        {
            reason = e.Message;
        }
        Interlocked.Increment(ref _badCopiesFound);
        LogBadLocalCopy(address.ToString(), reason);
        await _silo.CommitAsync(new SiloBatch().DeleteBlockCopy(address), cancellationToken).ConfigureAwait(false);
        return null;
    }

    // The block's payload shares `bytes` (SharedPayloadParser): callers pass arrays nothing writes to afterwards (a
    // silo read, a received ByteString, a decoded block).
    private static Block? Checked(ReadOnlyMemory<byte> bytes, BlockAddress address, out string reason)
    {
        Block block;
        try
        {
            block = SharedPayloadParser.Parse(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            reason = "it does not parse: " + e.Message;
            return null;
        }
        var check = BlockValidator.ValidateAt(block, address);
        reason = check.Reason ?? "";
        return check.IsValid ? block : null;
    }
}
