using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;

namespace Memo.Node.Erasure;

/// <summary>
/// The fragment record (<see cref="BlockFragment"/>, format 1): how a block is cut into records and how a record is
/// checked before it is stored, served or decoded. Pure.
/// </summary>
public static class FragmentRecords
{
    /// <summary>The record format written.</summary>
    public const uint Format = 1;

    /// <summary>The K + M fragment records of the serialized block <paramref name="block"/> at <paramref name="address"/>.</summary>
    public static BlockFragment[] Cut(ReedSolomonCodec codec, BlockAddress address, ReadOnlySpan<byte> block)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var fragments = codec.Encode(block);
        var addressBytes = ByteString.CopyFrom(address.ToArray());
        var records = new BlockFragment[fragments.Length];
        for (var i = 0; i < fragments.Length; i++)
        {
            records[i] = Make(codec, addressBytes, i, block.Length, fragments[i]);
        }
        return records;
    }

    /// <summary>The record of fragment <paramref name="index"/> with <paramref name="data"/> (a rebuilt one).</summary>
    public static BlockFragment Make(ReedSolomonCodec codec, BlockAddress address, int index, int blockLength, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return Make(codec, ByteString.CopyFrom(address.ToArray()), index, blockLength, data);
    }

    /// <summary>
    /// Null when <paramref name="record"/> is a sound fragment of the block at <paramref name="address"/> under
    /// <paramref name="coding"/>; otherwise what is wrong. Sound: the format, address, K and M match, the index is in
    /// range, the data has the length the block's length gives, and it hashes to the record's fragment hash (so a
    /// fragment damaged on disk or on the way is caught here, before it spoils a decode).
    /// </summary>
    public static string? Problem(BlockFragment record, BlockAddress address, ErasureCoding coding)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Format != Format)
        {
            return $"fragment format {record.Format}, not {Format}";
        }
        if (!BlockAddress.TryFromBytes(record.Address.Span, out var at) || at != address)
        {
            return "it names another block";
        }
        if (record.DataFragments != coding.DataFragments || record.ParityFragments != coding.ParityFragments)
        {
            return $"it is cut {record.DataFragments}+{record.ParityFragments}, the network {coding.Scheme}";
        }
        if (record.Index >= coding.TotalFragments)
        {
            return $"fragment index {record.Index} is outside 0..{coding.TotalFragments - 1}";
        }
        if (record.BlockLength > int.MaxValue)
        {
            return $"block length {record.BlockLength} is too large";
        }
        var expected = Math.Max(1, (int)((record.BlockLength + (ulong)coding.DataFragments - 1) / (ulong)coding.DataFragments));
        if (record.Data.Length != expected)
        {
            return $"fragment {record.Index} has {record.Data.Length} bytes, a block of {record.BlockLength} bytes has fragments of {expected}";
        }
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(record.Data.Span, hash);
        return hash.SequenceEqual(record.FragmentHash.Span) ? null : $"fragment {record.Index} does not match its hash";
    }

    private static BlockFragment Make(ReedSolomonCodec codec, ByteString address, int index, int blockLength, byte[] data) => new()
    {
        Format = Format,
        Address = address,
        Index = (uint)index,
        DataFragments = (uint)codec.DataFragments,
        ParityFragments = (uint)codec.ParityFragments,
        BlockLength = (ulong)blockLength,
        FragmentHash = ByteString.CopyFrom(SHA256.HashData(data)),
        Data = UnsafeByteOperations.UnsafeWrap(data),
    };
}
