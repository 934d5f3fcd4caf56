using Google.Protobuf;
using Memo.Node.Shards.Replicated.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// The state-machine payload of a shard snapshot (<see cref="ShardSnapshot"/>): every block and entry of the shard.
/// Reads the shard from the silo page by page and builds one message: simple, and bounded by
/// <see cref="ShardGroupOptions.MaxSnapshotBytes"/>; chunked transfer is future work.
/// </summary>
internal static class ShardSnapshotCodec
{
    /// <summary>The snapshot format this version writes and accepts.</summary>
    public const uint Format = 1;

    private const int PageSize = 512;

    /// <summary>The snapshot of an empty shard.</summary>
    public static byte[] Empty() => new ShardSnapshot { Format = Format }.ToByteArray();

    /// <summary>The shard's state as the silo holds it now, or null when it is larger than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> CaptureAsync(ISilo silo, ShardId shard, long maxBytes, CancellationToken cancellationToken)
    {
        var snapshot = new ShardSnapshot { Format = Format };
        long bytes = 0;
        SiloShardPosition? after = null;
        while (true)
        {
            var page = await silo.ScanShardAsync(shard, after, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var record in page)
            {
                bytes += record.Value.Length + (record.Key?.Length ?? BlockAddress.Length) + 8;
                if (bytes > maxBytes)
                {
                    return null;
                }
                if (record.Block is { } address)
                {
                    snapshot.Blocks.Add(new ShardSnapshotBlock { Address = UnsafeByteOperations.UnsafeWrap(address.ToArray()), Data = UnsafeByteOperations.UnsafeWrap(record.Value) });
                }
                else
                {
                    snapshot.Entries.Add(new ShardSnapshotEntry { Key = record.Key!, Value = UnsafeByteOperations.UnsafeWrap(record.Value) });
                }
            }
            if (page.Count < PageSize)
            {
                return snapshot.ToByteArray();
            }
            after = page[^1].Position;
        }
    }

    /// <summary>
    /// Stages the replacement of the shard's state by the snapshot's: the caller has already staged
    /// <see cref="SiloBatch.ClearShard"/>. Returns the records written, for the turn's overlay. An empty payload is
    /// a new group's bootstrap snapshot: an empty shard.
    /// </summary>
    /// <exception cref="Raft.RaftInvariantException">The payload is not a shard snapshot: a committed snapshot cannot be skipped.</exception>
    public static IEnumerable<(ShardRecordKey Key, byte[] Value)> Decode(byte[] data)
    {
        if (data.Length == 0)
        {
            return [];
        }
        ShardSnapshot snapshot;
        try
        {
            snapshot = ShardSnapshot.Parser.ParseFrom(data);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new Raft.RaftInvariantException("shard snapshot does not parse: " + e.Message);
        }
        Raft.RaftInvariantException.ThrowIf(snapshot.Format != Format, $"unknown shard snapshot format {snapshot.Format}");
        var records = new List<(ShardRecordKey, byte[])>(snapshot.Blocks.Count + snapshot.Entries.Count);
        foreach (var block in snapshot.Blocks)
        {
            Raft.RaftInvariantException.ThrowIf(!BlockAddress.TryFromBytes(block.Address.Span, out var address), "shard snapshot holds a malformed block address");
            records.Add((ShardRecordKey.ForBlock(address), block.Data.ToByteArray()));
        }
        foreach (var entry in snapshot.Entries)
        {
            records.Add((ShardRecordKey.ForEntry(entry.Key), entry.Value.ToByteArray()));
        }
        return records;
    }
}
