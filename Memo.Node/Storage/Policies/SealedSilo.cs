using System.Buffers.Binary;
using System.Text;
using Memo.Protocol.Blocks;

namespace Memo.Node.Storage.Policies;

// Design note: the data policies as a silo decorator.
//
// Every byte of a value the node stores passes through ISilo: entries (inline values), blocks and block copies (larger
// values, mutable blocks), Raft log rows (each put command carries its value) and Raft snapshot payloads (metadata rows
// raft/<shard>/snapshot, a whole shard's records). This decorator seals exactly those on their way in (compress, then
// encrypt: RecordSealer) and opens them on their way out, so the layers above (Raft, the state machine, snapshots, the
// entry cache in front of it) see plaintext and stay unchanged, and the file underneath holds frames only.
//
// What stays plaintext, by design: entry keys (the silo orders and scans them in SQLite), block addresses (hashes),
// shard numbers, log indexes and terms, the Raft hard state and the node's other metadata (cluster record, applied
// indexes, the wrapped data keys). Measured sizes (MeasureShardAsync) are of the frames: compression shows there.

/// <summary>
/// A silo that stores values sealed under the network's <see cref="DataPolicies"/>: compressed and/or encrypted with the
/// node's data keys (<see cref="DataKeyRing"/>), transparently to its callers.
/// </summary>
public sealed class SealedSilo : ISilo
{
    private const byte BlockContext = 1;
    private const byte EntryContext = 2;
    private const byte LogContext = 3;
    private const byte MetaContext = 4;
    private const byte FragmentContext = 5;

    /// <summary>Metadata rows whose names start with this hold values (Raft snapshot payloads) and are sealed.</summary>
    public const string SealedMetaPrefix = "raft/";

    private readonly RecordSealer _sealer;

    /// <summary>Wraps <paramref name="inner"/> (owned from now on); records are sealed with <paramref name="sealer"/>.</summary>
    public SealedSilo(ISilo inner, RecordSealer sealer)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(sealer);
        Inner = inner;
        _sealer = sealer;
    }

    /// <summary>The silo underneath, which holds the frames.</summary>
    public ISilo Inner { get; }

    /// <summary>The policies records are sealed under.</summary>
    public DataPolicies Policies => _sealer.Policies;

    /// <summary>
    /// <paramref name="inner"/> wrapped for <paramref name="policies"/>, or <paramref name="inner"/> itself when they seal
    /// nothing. With encryption, reads the data key ring (or creates it), adds this start's key and writes the ring back
    /// wrapped with <paramref name="kek"/> (rewrapping keys that only <paramref name="previousKek"/> opened: a rotation).
    /// Throws <see cref="KeyEncryptionKeyException"/> when encryption is on and the KEK is missing or wrong.
    /// </summary>
    public static async Task<ISilo> OpenAsync(ISilo inner, DataPolicies policies, KeyEncryptionKey? kek, KeyEncryptionKey? previousKek,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(policies);
        if (policies.IsNone)
        {
            return inner;
        }
        DataKeyRing? ring = null;
        if (policies.EncryptAtRest)
        {
            if (kek is null)
            {
                throw new KeyEncryptionKeyException(
                    "Encryption at rest is on for this network, and the node has no key-encryption key: set memo.node.kek-file " +
                    $"(a file holding 32 bytes, raw or base64) or ${KeyEncryptionKey.EnvironmentVariable} (base64).");
            }
            var stored = await inner.ReadMetaAsync(DataKeyRing.MetaName, cancellationToken).ConfigureAwait(false);
            ring = stored is null ? DataKeyRing.Empty : DataKeyRing.Unwrap(stored, kek, previousKek, out _);
            // A fresh key per start: its nonces (a counter) can never repeat one used before a restart.
            ring = ring.WithNewKey();
            await inner.CommitAsync(new SiloBatch().PutMeta(DataKeyRing.MetaName, ring.Wrap(kek)), cancellationToken).ConfigureAwait(false);
        }
        return new SealedSilo(inner, new RecordSealer(policies, ring));
    }

    /// <inheritdoc />
    public Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var sealedBatch = new SiloBatch();
        foreach (var operation in batch.Operations)
        {
            switch (operation)
            {
                case SiloOperation.PutBlock put:
                    sealedBatch.PutBlock(put.Shard, put.Address, _sealer.Seal(put.Data, Context(put.Address)));
                    break;
                case SiloOperation.PutBlockCopy copy:
                    sealedBatch.PutBlockCopy(copy.Shard, copy.Address, _sealer.Seal(copy.Data, Context(copy.Address)));
                    break;
                case SiloOperation.PutEntry put:
                    sealedBatch.PutEntry(put.Shard, put.Key, _sealer.Seal(put.Value, Context(EntryContext, put.Key)));
                    break;
                case SiloOperation.AppendLog append:
                    sealedBatch.AppendLog(append.Shard, append.Index, append.Term, _sealer.Seal(append.Data, Context(append.Shard, append.Index, append.Term)));
                    break;
                case SiloOperation.PutMeta meta:
                    sealedBatch.PutMeta(meta.Name, IsSealedMeta(meta.Name) ? _sealer.Seal(meta.Value, Context(MetaContext, meta.Name)) : meta.Value);
                    break;
                case SiloOperation.DeleteBlock delete:
                    sealedBatch.DeleteBlock(delete.Address);
                    break;
                case SiloOperation.DeleteBlockCopy delete:
                    sealedBatch.DeleteBlockCopy(delete.Address);
                    break;
                case SiloOperation.PutBlockFragment fragment:
                    // Its own context: a fragment's ciphertext moved into the copies table (or back) fails to open.
                    sealedBatch.PutBlockFragment(fragment.Shard, fragment.Address, fragment.Index,
                        _sealer.Seal(fragment.Data, Context(FragmentContext, fragment.Address)));
                    break;
                case SiloOperation.DeleteBlockFragment delete:
                    sealedBatch.DeleteBlockFragment(delete.Address);
                    break;
                case SiloOperation.ForgetRemovedBlocks forget:
                    sealedBatch.ForgetRemovedBlocks(forget.RemovedBefore);
                    break;
                case SiloOperation.DeleteEntry delete:
                    sealedBatch.DeleteEntry(delete.Key);
                    break;
                case SiloOperation.PutRaftState state:
                    sealedBatch.PutRaftState(state.Shard, state.State);
                    break;
                case SiloOperation.TruncateLogAfter truncate:
                    sealedBatch.TruncateLogAfter(truncate.Shard, truncate.LastKept);
                    break;
                case SiloOperation.CompactLogThrough compact:
                    sealedBatch.CompactLogThrough(compact.Shard, compact.Through);
                    break;
                case SiloOperation.ClearShard clear:
                    sealedBatch.ClearShard(clear.Shard);
                    break;
                default:
                    // A new operation may carry a value; storing it unsealed would break the policy silently.
                    throw new InvalidOperationException($"SealedSilo does not know the silo operation {operation.GetType().Name}: decide whether it carries a value to seal.");
            }
        }
        if (batch.FlushDeferred)
        {
            sealedBatch.DeferFlush();
        }
        return Inner.CommitAsync(sealedBatch, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        await Inner.ReadBlockAsync(address, cancellationToken).ConfigureAwait(false) is { } frame ? _sealer.Open(frame, Context(address)) : null;

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default) =>
        await Inner.ReadEntryAsync(key, cancellationToken).ConfigureAwait(false) is { } frame ? _sealer.Open(frame, Context(EntryContext, key)) : null;

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesAsync(string prefix, string? after, int limit, CancellationToken cancellationToken = default) =>
        OpenEntries(await Inner.ScanEntriesAsync(prefix, after, limit, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SiloEntry>> ScanEntriesPastAsync(string prefix, string skipped, int limit, CancellationToken cancellationToken = default) =>
        OpenEntries(await Inner.ScanEntriesPastAsync(prefix, skipped, limit, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SiloShardRecord>> ScanShardAsync(ShardId shard, SiloShardPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        var page = await Inner.ScanShardAsync(shard, after, limit, cancellationToken).ConfigureAwait(false);
        var opened = new SiloShardRecord[page.Count];
        for (var i = 0; i < page.Count; i++)
        {
            var record = page[i];
            var context = record.Block is { } address ? Context(address) : Context(EntryContext, record.Key!);
            opened[i] = record with { Value = _sealer.Open(record.Value, context) };
        }
        return opened;
    }

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadMetaAsync(string name, CancellationToken cancellationToken = default)
    {
        var value = await Inner.ReadMetaAsync(name, cancellationToken).ConfigureAwait(false);
        return value is not null && IsSealedMeta(name) ? _sealer.Open(value, Context(MetaContext, name)) : value;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SiloLogEntry>> ReadLogAsync(ShardId shard, LogIndex from, LogIndex toExclusive, CancellationToken cancellationToken = default)
    {
        var entries = await Inner.ReadLogAsync(shard, from, toExclusive, cancellationToken).ConfigureAwait(false);
        var opened = new SiloLogEntry[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            opened[i] = entry with { Data = _sealer.Open(entry.Data, Context(shard, entry.Index, entry.Term)) };
        }
        return opened;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<BlockAddress>> ListBlockCopiesAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ListBlockCopiesAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadBlockFragmentAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        await Inner.ReadBlockFragmentAsync(address, cancellationToken).ConfigureAwait(false) is { } frame ? _sealer.Open(frame, Context(FragmentContext, address)) : null;

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SiloFragment>> ListBlockFragmentsAsync(ShardId shard, BlockAddress? after, int limit, CancellationToken cancellationToken = default) =>
        Inner.ListBlockFragmentsAsync(shard, after, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> IsBlockRemovedAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        Inner.IsBlockRemovedAsync(address, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadRaftStateAsync(ShardId shard, CancellationToken cancellationToken = default) => Inner.ReadRaftStateAsync(shard, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SiloLogBounds> ReadLogBoundsAsync(ShardId shard, CancellationToken cancellationToken = default) => Inner.ReadLogBoundsAsync(shard, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SiloShardUsage> MeasureShardAsync(ShardId shard, CancellationToken cancellationToken = default) => Inner.MeasureShardAsync(shard, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Inner.DisposeAsync();

    private static bool IsSealedMeta(string name) => name.StartsWith(SealedMetaPrefix, StringComparison.Ordinal);

    private SiloEntry[] OpenEntries(IReadOnlyList<SiloEntry> entries)
    {
        var opened = new SiloEntry[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            opened[i] = entry with { Value = _sealer.Open(entry.Value, Context(EntryContext, entry.Key)) };
        }
        return opened;
    }

    private static byte[] Context(byte kind, BlockAddress address)
    {
        var context = new byte[1 + BlockAddress.Length];
        context[0] = kind;
        address.WriteTo(context.AsSpan(1));
        return context;
    }

    // A block and its copy share one context: ReadBlockAsync returns whichever row holds the address.
    private static byte[] Context(BlockAddress address) => Context(BlockContext, address);

    private static byte[] Context(byte kind, string name)
    {
        var context = new byte[1 + Encoding.UTF8.GetByteCount(name)];
        context[0] = kind;
        Encoding.UTF8.GetBytes(name, context.AsSpan(1));
        return context;
    }

    private static byte[] Context(ShardId shard, LogIndex index, Term term)
    {
        var context = new byte[1 + 4 + 8 + 8];
        context[0] = LogContext;
        BinaryPrimitives.WriteInt32LittleEndian(context.AsSpan(1), shard.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(context.AsSpan(5), index.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(context.AsSpan(13), term.Value);
        return context;
    }
}
