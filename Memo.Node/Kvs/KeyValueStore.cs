using System.Text;
using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Configuration;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Scanning;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Kvs;

/// <summary>
/// memo's key-value store on top of the value store: each value is an immutable block (owned by the node),
/// and each key maps to its current value block through a <see cref="KvEntry"/> kept in the key's shard.
/// </summary>
/// <remarks>
/// A write of a value over the inline limit is two steps: (1) store the value block on its shard's replica set
/// (<see cref="IShardGateway.StoreImmutableBlockAsync"/>: the node writes it straight to the ring's replicas as checked
/// copies, no consensus, since the block is self-certifying), (2) point the entry at it in the key's shard. Step 2 is
/// one atomic Raft command in one shard, so concurrent writers of a key are serialised there and Insert/Update
/// preconditions hold. Step 2 is proposed only once step 1 is durable on a majority of the block's replicas: nothing
/// but that order keeps an entry from becoming durable without its block. The write is acknowledged when step 2 is committed,
/// or, for an async upsert (<see cref="WriteConsistency.Async"/>), once the key shard's leader holds step 2 durably in
/// its log; what it replaced is then reclaimed when it commits (docs/ARCHITECTURE.md, "Policies: write consistency").
/// The replaced (or, when a precondition failed, the new) value block is then reclaimed through its shard, with
/// the reclaim key that only its entry held (<see cref="ReclaimKeys"/>): whoever replaced an entry reclaims exactly
/// the block it replaced, so each block is removed once, and nobody else can reclaim a block still referenced.
/// With <see cref="KvsLimits.KeepVersions"/> above 1 the entry also keeps the replaced values as older versions
/// (<see cref="KvEntry.OlderVersions"/>), and a block is reclaimed only when the entry no longer names it in any version:
/// when it is pruned, or when the key is deleted (a delete removes the key with every version).
/// Values get a fresh random salt (or one derived from a fresh reclaim key), so two keys never share a block. A crash (or an unknown outcome) between the steps leaves
/// an unreferenced block (garbage, not a dangling entry).
///
/// Reads are linearizable: the entry is read at its shard's leader (ReadIndex), then the block from any replica
/// that has a valid copy (a value block is immutable and checked against its address), else from its shard's leader
/// (blocks stored through Raft before the direct path). If
/// the block vanished between the two reads the entry was replaced concurrently; the read retries on the new entry.
/// </remarks>
public sealed partial class KeyValueStore
{
    private const int MaxFetchAttempts = 64;

    private readonly IShardGateway _shards;
    private readonly MemoKeyPair _nodeKey;
    private readonly KvsLimits _limits;
    private readonly ILogger _logger;
    private readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);


    /// <summary>Creates the store over the node's shards.</summary>
    public KeyValueStore(IShardGateway shards, MemoKeyPair nodeKey, KvsLimits limits, ILogger<KeyValueStore> logger)
    {
        _shards = shards;
        _nodeKey = nodeKey;
        _limits = limits;
        _logger = logger;
    }

    /// <summary>Insert, Update or Upsert <paramref name="key"/> (memo semantics), as an anonymous caller.</summary>
    public Task<KvOutcome> WriteAsync(string key, ReadOnlyMemory<byte> value, WriteMode mode, CancellationToken cancellationToken = default) =>
        WriteAsync(key, value, mode, caller: null, cancellationToken);

    /// <summary>
    /// Insert, Update or Upsert <paramref name="key"/> (memo semantics) for <paramref name="caller"/>: its key owns the
    /// value block, and its proof goes with the entry write to the key's shard. On a network with an owner a write
    /// without a caller, or whose proof the shard would refuse, is <see cref="KvStatus.PermissionDenied"/>.
    /// </summary>
    public Task<KvOutcome> WriteAsync(string key, ReadOnlyMemory<byte> value, WriteMode mode, KvCaller? caller, CancellationToken cancellationToken = default) =>
        WriteAsync(key, value, mode, caller, consistency: null, cancellationToken);

    /// <summary>
    /// As <see cref="WriteAsync(string, ReadOnlyMemory{byte}, WriteMode, KvCaller?, CancellationToken)"/>, acknowledged at
    /// <paramref name="consistency"/> (null: the node's <see cref="KvsLimits.WriteConsistency"/>). An async Upsert is
    /// answered once the key shard's leader holds its entry durably; Insert, Update and Delete wait for the commit at any
    /// level (their answer is the stored entry's verdict). <paramref name="value"/> must not change until the returned
    /// task completes (a large value's block shares it).
    /// </summary>
    public async Task<KvOutcome> WriteAsync(string key, ReadOnlyMemory<byte> value, WriteMode mode, KvCaller? caller, WriteConsistency? consistency,
        CancellationToken cancellationToken = default)
    {
        if (CheckKey(key) is { } keyProblem)
        {
            return new KvOutcome(KvStatus.InvalidArgument, keyProblem);
        }
        if (value.Length > _limits.MaxValueBytes)
        {
            return new KvOutcome(KvStatus.InvalidArgument, $"The value is {value.Length} bytes; the limit is {_limits.MaxValueBytes}.");
        }

        var inline = value.Length <= _limits.InlineValueBytes;
        // A block stored in its own shard can later be reclaimed only with this key, which the entry keeps (ReclaimKeys).
        var reclaimKey = inline ? null : ReclaimKeys.NewKey();
        // The node signs nothing for an authenticated user: the user's key owns the value block.
        var owner = caller?.User ?? _nodeKey.PublicKey;
        var block = reclaimKey is null
            ? BlockFactory.MakeImmutable(value.Span, owner)
            // Shares the caller's bytes (a gRPC request's value, which never changes): encoded once for the copies below,
            // so a large value is not copied into the block first.
            : BlockFactory.MakeImmutableSharing(value, owner, ReclaimKeys.SaltOf(reclaimKey));
        // Checked before anything is stored, so a refused write leaves no value block behind; the shard checks again.
        var entryWrite = new WriteEntry { Key = key, Mode = mode, ValueAddress = block.Address, KeepVersions = KeepVersions, Proof = caller?.Proof };
        if (_shards.Layout.Access is { } access
            && ShardStateMachine.Authorize(new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = inline ? WithBlock(entryWrite, block) : entryWrite }, access) is { } denied)
        {
            return new KvOutcome(KvStatus.PermissionDenied, denied.Reason);
        }
        var acknowledgeAtAppend = mode == WriteMode.Upsert && (consistency ?? _limits.WriteConsistency) == WriteConsistency.Async;
        ShardResult written;
        if (inline)
        {
            // Small value: the block travels inside the entry, so the write is one command in the key's shard.
            var command = new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = WithBlock(entryWrite, block) };
            if (acknowledgeAtAppend)
            {
                return await UpsertAcknowledgedAtAppendAsync(key, command, cancellationToken).ConfigureAwait(false);
            }
            written = await _shards.ProposeAsync(_shards.Layout.ShardOf(key), command, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // The block is self-certifying: it goes straight to its replica set and returns at a majority of durable
            // copies (no consensus); only the entry below goes through Raft.
            await _shards.StoreImmutableBlockAsync(block, cancellationToken).ConfigureAwait(false);

            // The block is durable on a majority of its replicas, so the entry may point at it. From here the entry write must
            // not be abandoned by a cancelled caller (the gateway bounds it), or the block would leak with no owner.
            var command = new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = WithReclaimKey(entryWrite, reclaimKey!) };
            if (acknowledgeAtAppend)
            {
                return await UpsertAcknowledgedAtAppendAsync(key, command, cancellationToken).ConfigureAwait(false);
            }
            written = await _shards.ProposeAsync(_shards.Layout.ShardOf(key), command, CancellationToken.None).ConfigureAwait(false);
        }

        switch (written)
        {
            case ShardResult.EntryWritten w:
                if (w.Previous is { } previous)
                {
                    ReclaimReleased(previous, w.Current);
                }
                return KvOutcome.Ok;
            case ShardResult.EntryExists:
                if (reclaimKey is not null)
                {
                    Reclaim(block.Address, ByteString.CopyFrom(reclaimKey));
                }
                return new KvOutcome(KvStatus.AlreadyExists, $"The key '{key}' already exists.");
            case ShardResult.EntryMissing:
                if (reclaimKey is not null)
                {
                    Reclaim(block.Address, ByteString.CopyFrom(reclaimKey));
                }
                return new KvOutcome(KvStatus.NotFound, $"The key '{key}' does not exist.");
            default:
                throw new InvalidOperationException($"Unexpected result of an entry write: {written}.");
        }
    }

    // An async Upsert: answered at the key shard leader's durable append. The write goes on behind the answer, never
    // abandoned (a cancelled caller stops only its wait); what it replaced is reclaimed when it commits, as for any
    // write, and an acknowledged write that did not commit is logged (it may be lost: the async level's risk).
    private async Task<KvOutcome> UpsertAcknowledgedAtAppendAsync(string key, ShardCommand command, CancellationToken cancellationToken)
    {
        var write = _shards.ProposeAcknowledgedAtAppend(_shards.Layout.ShardOf(key), command, CancellationToken.None);
        _ = FinishBehindAsync(key, write);
        await write.Acknowledged.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (write.Committed.IsCompletedSuccessfully && write.Committed.Result is not ShardResult.EntryWritten)
        {
            throw new InvalidOperationException($"Unexpected result of an upsert: {write.Committed.Result}.");
        }
        return KvOutcome.Ok;
    }

    private async Task FinishBehindAsync(string key, AppendedWrite write)
    {
        try
        {
            if (await write.Committed.ConfigureAwait(false) is ShardResult.EntryWritten { Previous: { } previous } written)
            {
                ReclaimReleased(previous, written.Current);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Before the acknowledgement the caller got this error itself; after it, only this log says so.
            await write.Acknowledged.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (write.Acknowledged.IsCompletedSuccessfully)
            {
                LogAsyncWriteNotCommitted(key, e.Message);
            }
        }
    }

    /// <summary>Deletes <paramref name="key"/>; NotFound when missing.</summary>
    public Task<KvOutcome> DeleteAsync(string key, CancellationToken cancellationToken = default) => DeleteAsync(key, caller: null, cancellationToken);

    /// <summary>Deletes <paramref name="key"/> for <paramref name="caller"/> (see <see cref="WriteAsync(string, ReadOnlyMemory{byte}, WriteMode, KvCaller?, CancellationToken)"/>); NotFound when missing.</summary>
    public async Task<KvOutcome> DeleteAsync(string key, KvCaller? caller, CancellationToken cancellationToken = default)
    {
        if (CheckKey(key) is { } keyProblem)
        {
            return new KvOutcome(KvStatus.InvalidArgument, keyProblem);
        }
        var command = new ShardCommand
        {
            Format = ShardStateMachine.Format,
            DeleteEntry = new DeleteEntry { Key = key, Proof = caller?.Proof },
        };
        if (_shards.Layout.Access is { } access && ShardStateMachine.Authorize(command, access) is { } denied)
        {
            return new KvOutcome(KvStatus.PermissionDenied, denied.Reason);
        }
        var result = await _shards.ProposeAsync(_shards.Layout.ShardOf(key), command, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case ShardResult.EntryDeleted d:
                // A delete is not a version: the key goes with every version it kept, and so do their blocks.
                ReclaimReleased(d.Previous, current: null);
                return KvOutcome.Ok;
            case ShardResult.EntryMissing:
                return new KvOutcome(KvStatus.NotFound, $"The key '{key}' does not exist.");
            default:
                throw new InvalidOperationException($"Unexpected result of an entry delete: {result}.");
        }
    }

    /// <summary>The current value of <paramref name="key"/>, read linearizably or as the node's default says; NotFound when missing.</summary>
    public Task<KvFetchResult> FetchAsync(string key, CancellationToken cancellationToken = default) => FetchAsync(key, version: 0, consistency: null, cancellationToken);

    /// <summary>
    /// Version <paramref name="version"/> of <paramref name="key"/> (0: the current value) read at
    /// <paramref name="consistency"/> (null: the node's default); NotFound when the key is missing or that version is
    /// not kept (older than the last <see cref="KvsLimits.KeepVersions"/>, or never written).
    /// </summary>
    public async Task<KvFetchResult> FetchAsync(string key, ulong version, ReadConsistency? consistency = null, CancellationToken cancellationToken = default)
    {
        if (CheckKey(key) is { } keyProblem)
        {
            return new KvFetchResult(KvStatus.InvalidArgument, null, keyProblem);
        }
        KvEntry? seen = null;
        for (var attempt = 0; attempt < MaxFetchAttempts; attempt++)
        {
            var entryBytes = await _shards.ReadEntryAsync(key, consistency, cancellationToken).ConfigureAwait(false);
            if (entryBytes is null)
            {
                return new KvFetchResult(KvStatus.NotFound, null, $"The key '{key}' does not exist.");
            }
            // From a span: the parser then needs no CodedInputStream of its own (one object fewer per get).
            var entry = KvEntry.Parser.ParseFrom(entryBytes.AsSpan());
            var chosen = version == 0 || version == entry.Version ? entry : OlderVersion(entry, version);
            if (chosen is null)
            {
                return new KvFetchResult(KvStatus.NotFound, null,
                    $"Version {version} of key '{key}' is not kept; the kept versions are {string.Join(", ", VersionsOf(entry))}.");
            }
            if (seen is not null && seen.Equals(entry))
            {
                // The same entry twice and its block still missing: not a concurrent overwrite. This is not corruption
                // of this node's storage (every stored byte still checks out); the entry names a block that is not
                // there: one reclaimed or deleted under it, lost from a majority, or an entry written by a proposer
                // that never stored the block. FAILED_PRECONDITION rather than NOT_FOUND: the key exists (Insert
                // would answer ALREADY_EXISTS, Delete succeeds), so NOT_FOUND would contradict the other calls; the
                // key is in a state the read cannot serve, retrying will not change that, and overwriting or
                // deleting the key repairs it, which is what FAILED_PRECONDITION tells a client.
                return new KvFetchResult(KvStatus.FailedPrecondition, null,
                    $"The value of key '{key}' is unavailable: its block {Hex(chosen.ValueAddress)} is not stored. Overwrite or delete the key.");
            }
            seen = entry;
            if (!BlockAddress.TryFromBytes(chosen.ValueAddress.Span, out var address))
            {
                throw new StorageCorruptionException($"The entry of key '{key}' holds no valid block address for version {chosen.Version}.");
            }
            if (chosen.ValueBlock is { } inlineBlock)
            {
                var check = BlockValidator.ValidateAt(inlineBlock, address);
                if (!check.IsValid)
                {
                    throw new StorageCorruptionException($"The value block kept in the entry of key '{key}' fails validation: {check.Reason}");
                }
                // The entry was parsed just now from bytes this read owns: its value's array is handed on, not copied.
                return new KvFetchResult(KvStatus.Ok, ByteStringArrays.TakeArray(inlineBlock.Data), Version: chosen.Version);
            }
            var block = await ReadValueBlockAsync(address, cancellationToken).ConfigureAwait(false);
            if (block is null)
            {
                continue; // replaced or pruned (and reclaimed) between the two reads: read the new entry
            }
            return new KvFetchResult(KvStatus.Ok, block.Data.ToByteArray(), Version: chosen.Version);
        }
        throw new StorageCorruptionException($"The key '{key}' changed {MaxFetchAttempts} times during one read.");
    }

    /// <summary>The kept versions of <paramref name="key"/>, newest (the current value) first, read at
    /// <paramref name="consistency"/> (null: the node's default); NotFound when missing.</summary>
    public async Task<KvVersionsResult> ListVersionsAsync(string key, ReadConsistency? consistency = null, CancellationToken cancellationToken = default)
    {
        if (CheckKey(key) is { } keyProblem)
        {
            return new KvVersionsResult(KvStatus.InvalidArgument, [], keyProblem);
        }
        var entryBytes = await _shards.ReadEntryAsync(key, consistency, cancellationToken).ConfigureAwait(false);
        return entryBytes is null
            ? new KvVersionsResult(KvStatus.NotFound, [], $"The key '{key}' does not exist.")
            : new KvVersionsResult(KvStatus.Ok, VersionsOf(KvEntry.Parser.ParseFrom(entryBytes)));
    }

    /// <summary>
    /// One page of keys in ordinal order: those starting with <paramref name="prefix"/>, after
    /// <paramref name="marker"/>, with keys that contain <paramref name="delimiter"/> after the prefix rolled up
    /// into common prefixes; at most <paramref name="maxKeys"/> keys and prefixes (0: the default page size).
    /// </summary>
    /// <remarks>A marker that is a common prefix of this listing continues after every key under it. The walk reads
    /// each stored row at most once and seeks past a common prefix once it is rolled up, so the cost is linear in the
    /// rows read; it stops after <see cref="KvsLimits.MaxListRows"/> rows per node and then returns what it found as a
    /// truncated page whose <see cref="KvListing.NextMarker"/> continues where it stopped.</remarks>
    public async Task<KvListing> ListAsync(string prefix, string marker, string delimiter, ulong maxKeys, CancellationToken cancellationToken = default)
    {
        if ((CheckListArgument("prefix", prefix) ?? CheckListArgument("marker", marker) ?? CheckListArgument("delimiter", delimiter)) is { } problem)
        {
            return new KvListing(KvStatus.InvalidArgument, [], [], Truncated: false, Message: problem);
        }
        var limit = maxKeys == 0 ? _limits.DefaultListKeys : (int)Math.Min(maxKeys, (ulong)_limits.MaxListKeys);
        var scan = new KeyScan(prefix, KeyScan.PositionOfMarker(prefix, delimiter, marker), delimiter, limit, _limits.MaxListRows);
        var page = await _shards.ScanAsync(scan, cancellationToken).ConfigureAwait(false);
        var keys = new List<string>();
        var prefixes = new List<string>();
        foreach (var item in page.Items)
        {
            (item.IsPrefix ? prefixes : keys).Add(item.Text);
        }
        return new KvListing(KvStatus.Ok, keys, prefixes, page.Truncated, NextMarker: page.Truncated ? page.Next?.Key : null);
    }

    // A value block is immutable and self-certifying: any replica's valid copy is the block. A replica that lacks it
    // (lagging) or holds a bad copy is passed over for the leader's copy, which has every committed block.
    private async Task<Block?> ReadValueBlockAsync(BlockAddress address, CancellationToken cancellationToken)
    {
        // Blocks written straight to their replica set: any replica's checked copy. Blocks stored through their shard
        // (older data, or a gateway without the direct path) are found below.
        if (await _shards.ReadImmutableBlockAsync(address, cancellationToken).ConfigureAwait(false) is { } copy)
        {
            return copy;
        }
        var nearby = await _shards.ReadBlockAsync(address, linearizable: false, cancellationToken).ConfigureAwait(false);
        if (nearby is not null)
        {
            var block = Block.Parser.ParseFrom(nearby);
            var nearbyCheck = BlockValidator.ValidateAt(block, address);
            if (nearbyCheck.IsValid)
            {
                return block;
            }
            LogBadNearbyBlock(address.ToString(), nearbyCheck.Reason ?? "invalid");
        }
        var bytes = await _shards.ReadBlockAsync(address, linearizable: true, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }
        var led = Block.Parser.ParseFrom(bytes);
        var check = BlockValidator.ValidateAt(led, address);
        return check.IsValid ? led : throw new StorageCorruptionException($"The value block {address} fails validation: {check.Reason}");
    }

    // A listing's prefix, marker and delimiter are bounded like keys: longer ones cannot match or follow any key
    // worth listing, and they travel to every node that leads a shard.
    private string? CheckListArgument(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int bytes;
        try
        {
            bytes = _strictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            return $"The {name} is not valid Unicode (unpaired surrogate).";
        }
        return bytes > _limits.MaxKeyBytes ? $"The {name} is {bytes} bytes; the limit is {_limits.MaxKeyBytes} (the key limit)." : null;
    }

    private string? CheckKey(string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "The key is empty.";
        }
        int bytes;
        try
        {
            bytes = _strictUtf8.GetByteCount(key);
        }
        catch (EncoderFallbackException)
        {
            return "The key is not valid Unicode (unpaired surrogate).";
        }
        return bytes > _limits.MaxKeyBytes ? $"The key is {bytes} bytes; the limit is {_limits.MaxKeyBytes}." : null;
    }

    private static WriteEntry WithBlock(WriteEntry write, Block block)
    {
        var inline = write.Clone();
        inline.ValueBlock = block;
        return inline;
    }

    private static WriteEntry WithReclaimKey(WriteEntry write, byte[] reclaimKey)
    {
        var stored = write.Clone();
        stored.ReclaimKey = ByteString.CopyFrom(reclaimKey);
        return stored;
    }

    private uint KeepVersions => _limits.KeepVersions > 1 ? (uint)_limits.KeepVersions : 0;

    private static KvEntry? OlderVersion(KvEntry entry, ulong version)
    {
        foreach (var older in entry.OlderVersions)
        {
            if (older.Version == version)
            {
                return older;
            }
        }
        return null;
    }

    private static List<ulong> VersionsOf(KvEntry entry)
    {
        var versions = new List<ulong>(1 + entry.OlderVersions.Count) { entry.Version };
        versions.AddRange(entry.OlderVersions.Select(older => older.Version));
        return versions;
    }

    // Reclaims the value blocks that the entry named in some version before (previous) and names in none now (current;
    // null after a delete): the replaced value with one version kept, the pruned ones with more. A block still named is
    // kept even if the same write was applied twice (the retried write's previous entry then names its own block).
    private void ReclaimReleased(KvEntry previous, KvEntry? current)
    {
        if (previous.OlderVersions.Count == 0 && current is not { OlderVersions.Count: > 0 })
        {
            // One version kept: the common case, without building sets.
            if (previous.ValueBlock is null && (current is null || previous.ValueAddress != current.ValueAddress))
            {
                Reclaim(previous.ValueAddress, previous.ReclaimKey);
            }
            return;
        }
        var named = new HashSet<ByteString>();
        if (current is not null)
        {
            named.Add(current.ValueAddress);
            foreach (var older in current.OlderVersions)
            {
                named.Add(older.ValueAddress);
            }
        }
        foreach (var version in previous.OlderVersions.Prepend(previous))
        {
            if (version.ValueBlock is null && named.Add(version.ValueAddress))
            {
                Reclaim(version.ValueAddress, version.ReclaimKey);
            }
        }
    }

    // An entry written before reclaim keys existed has none: its block cannot be reclaimed and stays as garbage.
    private void Reclaim(ByteString blockAddress, ByteString reclaimKey)
    {
        if (!reclaimKey.IsEmpty && BlockAddress.TryFromBytes(blockAddress.Span, out var address))
        {
            _shards.Reclaim(address, reclaimKey.Memory);
        }
    }

    private static string Hex(ByteString bytes) => "0x" + Convert.ToHexStringLower(bytes.Span);
}
