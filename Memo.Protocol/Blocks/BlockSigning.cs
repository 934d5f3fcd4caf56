using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Blocks;

/// <summary>
/// The canonical byte strings that owners sign. Each starts with a domain string and a zero byte (so a signature
/// made for one purpose never verifies for another), then fixed-width big-endian integers and u32be-length-prefixed
/// byte strings, in a fixed order:
/// <code>
/// OKB:     "memo/okb/1"    0x00 ‖ address(32) ‖ u64be version ‖ u8 deleted ‖ u32be len ‖ data ‖ u32be len ‖ owner_key
/// NB:      "memo/nb/1"     0x00 ‖ address(32) ‖ u32be len ‖ name ‖ u32be len ‖ data ‖ u32be len ‖ owner_key
/// removal: "memo/remove/2" 0x00 ‖ address(32) ‖ u64be version ‖ u32be len ‖ signature
/// </code>
/// The salt is not signed directly: the address is, and the address is a hash of owner and salt.
/// A removal names one creation of a block, not just its address: <c>version</c> is the OKB's (or GB's) version (0 for
/// a CHB or an NB) and <c>signature</c> is the stored block's own signature (empty for a CHB). An NB's address is the same
/// every time its owner creates it again, and an OKB deleted at version 0 can be created again at version 0; the
/// owner's signature of the new creation is a fresh ECDSA signature (random nonce), so a removal recorded for an
/// earlier creation does not verify for the new one. A CHB's address already covers its salt, so a CHB made with a
/// fresh salt is a new address. Format 1 of the removal bytes (address and OKB version only) could be replayed
/// after a named block was created again; it is no longer accepted.
/// Signatures are ECDSA P-256 with SHA-256 over these bytes; the digest helpers hash them incrementally so a
/// 16 MiB payload is never copied (signing the digest is the same as signing the bytes).
/// </summary>
public static class BlockSigning
{
    private static readonly byte[] MutableDomain = "memo/okb/1\0"u8.ToArray();
    private static readonly byte[] NamedDomain = "memo/nb/1\0"u8.ToArray();
    private static readonly byte[] RemovalDomain = "memo/remove/2\0"u8.ToArray();

    /// <summary>The bytes an owner signs for this OKB or NB. Throws <see cref="ArgumentException"/> for a CHB or an unknown type.</summary>
    public static byte[] SigningBytes(Block block)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var sink = new BufferSink(buffer);
        WriteSigned(ref sink, block);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>SHA-256 of <see cref="SigningBytes"/>, computed without materialising them.</summary>
    public static byte[] SigningDigest(Block block)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sink = new HashSink(hash);
        WriteSigned(ref sink, block);
        return hash.GetHashAndReset();
    }

    /// <summary>
    /// The bytes an owner signs to remove the stored block: its address, its version (OKB) and its own signature
    /// (OKB, NB), so the removal applies to this creation of the block only.
    /// </summary>
    public static byte[] RemovalBytes(Block stored)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var sink = new BufferSink(buffer);
        WriteRemoval(ref sink, stored);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteSigned<TSink>(ref TSink sink, Block block) where TSink : struct, ISink
    {
        ArgumentNullException.ThrowIfNull(block);
        if (!block.TryGetKind(out var kind) || kind is not (BlockKind.Mutable or BlockKind.Named))
        {
            // ACB and GB are signed too, over other bytes (AclSigning).
            throw new ArgumentException($"Only OKB and NB blocks are signed with these bytes, not '{block.Type}'.", nameof(block));
        }
        if (kind == BlockKind.Mutable)
        {
            sink.Append(MutableDomain);
            sink.Append(block.Address.Span);
            WriteUInt64(ref sink, unchecked((ulong)block.Version));
            sink.Append([block.Deleted ? (byte)1 : (byte)0]);
            WritePrefixed(ref sink, block.GetPayload().Span);
            WritePrefixed(ref sink, block.OwnerKey.Span);
        }
        else
        {
            sink.Append(NamedDomain);
            sink.Append(block.Address.Span);
            WritePrefixed(ref sink, block.Name.Span);
            WritePrefixed(ref sink, block.GetPayload().Span);
            WritePrefixed(ref sink, block.OwnerKey.Span);
        }
    }

    private static void WriteRemoval<TSink>(ref TSink sink, Block stored) where TSink : struct, ISink
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (!stored.TryGetKind(out var kind))
        {
            throw new ArgumentException($"Unknown block type '{stored.Type}'.", nameof(stored));
        }
        sink.Append(RemovalDomain);
        sink.Append(stored.Address.Span);
        WriteUInt64(ref sink, kind.IsVersioned() ? unchecked((ulong)stored.Version) : 0);
        WritePrefixed(ref sink, kind == BlockKind.Immutable ? ReadOnlySpan<byte>.Empty : stored.Signature.Span);
    }

    private static void WriteUInt64<TSink>(ref TSink sink, ulong value) where TSink : struct, ISink
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        sink.Append(bytes);
    }

    private static void WritePrefixed<TSink>(ref TSink sink, ReadOnlySpan<byte> value) where TSink : struct, ISink
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, checked((uint)value.Length));
        sink.Append(length);
        sink.Append(value);
    }

    private interface ISink
    {
        void Append(ReadOnlySpan<byte> bytes);
    }

    private readonly struct BufferSink(ArrayBufferWriter<byte> buffer) : ISink
    {
        public void Append(ReadOnlySpan<byte> bytes) => buffer.Write(bytes);
    }

    private readonly struct HashSink(IncrementalHash hash) : ISink
    {
        public void Append(ReadOnlySpan<byte> bytes) => hash.AppendData(bytes);
    }
}
