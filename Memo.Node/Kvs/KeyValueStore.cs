using System.Text;
using Google.Protobuf;
using Memo.Node.Routing;
using Memo.Node.Shards;
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
/// A write is two commands: (1) store the value block in the block's shard, (2) point the entry at it in the
/// key's shard. Step 2 is one atomic command in one shard, so concurrent writers of a key are serialised there
/// and Insert/Update preconditions hold. Step 2 is submitted once step 1 is <em>applied</em> (its writes queued
/// in the silo), and the silo makes writes durable in queue order, so both become durable with one flush and
/// the entry can never be durable without its block. The write is acknowledged when step 2 is durable. The
/// replaced (or, when a precondition failed, the new) value block is then reclaimed with a later turn of its
/// shard: whoever replaced an entry reclaims exactly the block it replaced, so each block is removed once.
/// Values get a fresh random salt, so two keys never share a block. A crash before a reclaim is durable leaves
/// an unreferenced block (garbage, not a dangling entry).
///
/// Reads go straight to the committed state: entry, then block, verified against its address. If the block
/// vanished between the two reads the entry was replaced concurrently; the read retries on the new entry.
/// </remarks>
public sealed partial class KeyValueStore
{
    private const int MaxFetchAttempts = 64;

    private readonly ShardRouter _router;
    private readonly ISilo _silo;
    private readonly MemoKeyPair _nodeKey;
    private readonly KvsLimits _limits;
    private readonly ILogger _logger;
    private readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);


    /// <summary>Creates the store over the node's shards.</summary>
    public KeyValueStore(ShardRouter router, ISilo silo, MemoKeyPair nodeKey, KvsLimits limits, ILogger<KeyValueStore> logger)
    {
        _router = router;
        _silo = silo;
        _nodeKey = nodeKey;
        _limits = limits;
        _logger = logger;
    }

    /// <summary>Insert, Update or Upsert <paramref name="key"/> (memo semantics).</summary>
    public async Task<KvOutcome> WriteAsync(string key, ReadOnlyMemory<byte> value, WriteMode mode, CancellationToken cancellationToken = default)
    {
        if (CheckKey(key) is { } keyProblem)
        {
            return new KvOutcome(KvStatus.InvalidArgument, keyProblem);
        }
        if (value.Length > _limits.MaxValueBytes)
        {
            return new KvOutcome(KvStatus.InvalidArgument, $"The value is {value.Length} bytes; the limit is {_limits.MaxValueBytes}.");
        }

        var block = BlockFactory.MakeImmutable(value.Span, _nodeKey.PublicKey);
        var address = BlockAddress.FromBytes(block.Address.Span);
        var blockWrite = _router.ForBlock(address)
            .Submit(new ShardCommand { Format = ShardStateMachine.Format, InsertBlock = new InsertBlock { Block = block } }, cancellationToken);
        var stored = await blockWrite.Applied.ConfigureAwait(false);
        if (stored is not (ShardResult.BlockStored or ShardResult.BlockAlreadyStored))
        {
            throw new InvalidOperationException($"Storing a fresh value block {address} failed unexpectedly: {stored}.");
        }

        // The block's writes are queued in the silo, so the entry's writes, queued after them, become durable
        // after them: one flush for both. Once the block is applied the entry write must not be abandoned by a
        // cancelled caller, or the block would leak with no owner to reclaim it.
        var written = await _router.ForKey(key).SubmitAsync(new ShardCommand
        {
            Format = ShardStateMachine.Format,
            WriteEntry = new WriteEntry { Key = key, Mode = mode, ValueAddress = block.Address },
        }, CancellationToken.None).ConfigureAwait(false);
        try
        {
            await blockWrite.Durable.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Only possible if the silo failed the block's batch alone: point the key back where it was.
            LogBlockLostAfterEntry(e, address.ToString(), key);
            await RestoreAsync(key, written).ConfigureAwait(false);
            throw;
        }

        switch (written)
        {
            case ShardResult.EntryWritten w:
                if (w.Previous is { } previous)
                {
                    Reclaim(previous.ValueAddress);
                }
                return KvOutcome.Ok;
            case ShardResult.EntryExists:
                Reclaim(block.Address);
                return new KvOutcome(KvStatus.AlreadyExists, $"The key '{key}' already exists.");
            case ShardResult.EntryMissing:
                Reclaim(block.Address);
                return new KvOutcome(KvStatus.NotFound, $"The key '{key}' does not exist.");
            default:
                throw new InvalidOperationException($"Unexpected result of an entry write: {written}.");
        }
    }

    /// <summary>Deletes <paramref name="key"/>; NotFound when missing.</summary>
    public async Task<KvOutcome> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        if (CheckKey(key) is { } keyProblem)
        {
            return new KvOutcome(KvStatus.InvalidArgument, keyProblem);
        }
        var result = await _router.ForKey(key).SubmitAsync(new ShardCommand
        {
            Format = ShardStateMachine.Format,
            DeleteEntry = new DeleteEntry { Key = key },
        }, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case ShardResult.EntryDeleted d:
                Reclaim(d.Previous.ValueAddress);
                return KvOutcome.Ok;
            case ShardResult.EntryMissing:
                return new KvOutcome(KvStatus.NotFound, $"The key '{key}' does not exist.");
            default:
                throw new InvalidOperationException($"Unexpected result of an entry delete: {result}.");
        }
    }

    /// <summary>The value of <paramref name="key"/>; NotFound when missing.</summary>
    public async Task<KvFetchResult> FetchAsync(string key, CancellationToken cancellationToken = default)
    {
        if (CheckKey(key) is { } keyProblem)
        {
            return new KvFetchResult(KvStatus.InvalidArgument, null, keyProblem);
        }
        KvEntry? seen = null;
        for (var attempt = 0; attempt < MaxFetchAttempts; attempt++)
        {
            var entryBytes = await _silo.ReadEntryAsync(key, cancellationToken).ConfigureAwait(false);
            if (entryBytes is null)
            {
                return new KvFetchResult(KvStatus.NotFound, null, $"The key '{key}' does not exist.");
            }
            var entry = KvEntry.Parser.ParseFrom(entryBytes);
            if (seen is not null && seen.Equals(entry))
            {
                throw new StorageCorruptionException($"The entry of key '{key}' points to block {Hex(entry.ValueAddress)}, which is missing.");
            }
            seen = entry;
            if (!BlockAddress.TryFromBytes(entry.ValueAddress.Span, out var address))
            {
                throw new StorageCorruptionException($"The entry of key '{key}' holds no valid block address.");
            }
            var blockBytes = await _silo.ReadBlockAsync(address, cancellationToken).ConfigureAwait(false);
            if (blockBytes is null)
            {
                continue; // replaced (and reclaimed) between the two reads: read the new entry
            }
            var block = Block.Parser.ParseFrom(blockBytes);
            var check = BlockValidator.ValidateAt(block, address);
            if (!check.IsValid)
            {
                throw new StorageCorruptionException($"The value block {address} of key '{key}' fails validation: {check.Reason}");
            }
            return new KvFetchResult(KvStatus.Ok, block.Data.ToByteArray());
        }
        throw new StorageCorruptionException($"The key '{key}' changed {MaxFetchAttempts} times during one read.");
    }

    /// <summary>
    /// One page of keys in ordinal order: those starting with <paramref name="prefix"/>, after
    /// <paramref name="marker"/>, with keys that contain <paramref name="delimiter"/> after the prefix rolled up
    /// into common prefixes; at most <paramref name="maxKeys"/> keys and prefixes (0: the default page size).
    /// </summary>
    public async Task<KvListing> ListAsync(string prefix, string marker, string delimiter, ulong maxKeys, CancellationToken cancellationToken = default)
    {
        var limit = maxKeys == 0 ? _limits.DefaultListKeys : (int)Math.Min(maxKeys, (ulong)_limits.MaxListKeys);
        var keys = new List<string>();
        var prefixes = new List<string>();
        string? after = string.IsNullOrEmpty(marker) ? null : marker;
        string? skipping = null;
        if (after is not null && delimiter.Length > 0 && after.StartsWith(prefix, StringComparison.Ordinal) && after.EndsWith(delimiter, StringComparison.Ordinal)
            && after.AsSpan(prefix.Length).IndexOf(delimiter, StringComparison.Ordinal) == after.Length - prefix.Length - delimiter.Length)
        {
            // The marker is a common prefix returned by an earlier page: continue after everything under it.
            skipping = after;
            after = PastPrefix(after);
        }

        while (true)
        {
            var page = await _silo.ScanEntriesAsync(prefix, after, limit + 1, cancellationToken).ConfigureAwait(false);
            var restarted = false;
            foreach (var entry in page)
            {
                var key = entry.Key;
                if (skipping is not null && key.StartsWith(skipping, StringComparison.Ordinal))
                {
                    after = key;
                    continue;
                }
                if (keys.Count + prefixes.Count == limit)
                {
                    return new KvListing(KvStatus.Ok, keys, prefixes, Truncated: true);
                }
                var cut = delimiter.Length == 0 ? -1 : key.AsSpan(prefix.Length).IndexOf(delimiter, StringComparison.Ordinal);
                if (cut >= 0)
                {
                    skipping = key[..(prefix.Length + cut + delimiter.Length)];
                    prefixes.Add(skipping);
                    after = PastPrefix(skipping);
                    restarted = true;
                    break;
                }
                keys.Add(key);
                after = key;
            }
            if (!restarted && page.Count <= limit)
            {
                return new KvListing(KvStatus.Ok, keys, prefixes, Truncated: false);
            }
        }
    }

    // Sorts after every key that starts with p, except keys continuing with U+10FFFF, which callers skip.
    private static string PastPrefix(string p) => p + "\U0010FFFF";

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

    private void Reclaim(ByteString blockAddress)
    {
        if (BlockAddress.TryFromBytes(blockAddress.Span, out var address))
        {
            _router.ForBlock(address).Reclaim(address);
        }
    }

    private async Task RestoreAsync(string key, ShardResult written)
    {
        if (written is not ShardResult.EntryWritten w)
        {
            return;
        }
        var command = w.Previous is { } previous
            ? new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = new WriteEntry { Key = key, Mode = WriteMode.Upsert, ValueAddress = previous.ValueAddress } }
            : new ShardCommand { Format = ShardStateMachine.Format, DeleteEntry = new DeleteEntry { Key = key } };
        await _router.ForKey(key).SubmitAsync(command, CancellationToken.None).ConfigureAwait(false);
    }

    private static string Hex(ByteString bytes) => "0x" + Convert.ToHexStringLower(bytes.Span);
}
