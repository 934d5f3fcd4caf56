using System.Buffers.Binary;

namespace Memo.Protocol.Blocks;

/// <summary>
/// A 32-byte block address. As in memo, the low bit of the last byte says whether the block is
/// immutable (1: content-addressed, self-certifying) or mutable (0). Text form: <c>0x</c> + 64 hex digits.
/// </summary>
public readonly struct BlockAddress : IEquatable<BlockAddress>, IComparable<BlockAddress>
{
    /// <summary>Length of an address in bytes.</summary>
    public const int Length = 32;

    // Four 64-bit words, big-endian order, so comparisons and hashing never allocate.
    private readonly ulong _w0, _w1, _w2, _w3;

    private BlockAddress(ulong w0, ulong w1, ulong w2, ulong w3) => (_w0, _w1, _w2, _w3) = (w0, w1, w2, w3);

    /// <summary>Reads an address from exactly 32 bytes; throws <see cref="FormatException"/> on another length.</summary>
    public static BlockAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (!TryFromBytes(bytes, out var address))
        {
            throw new FormatException($"A block address is {Length} bytes, not {bytes.Length}.");
        }
        return address;
    }

    /// <summary>Reads an address from exactly 32 bytes.</summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, out BlockAddress address)
    {
        if (bytes.Length != Length)
        {
            address = default;
            return false;
        }
        address = new BlockAddress(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
        return true;
    }

    /// <summary>Makes an address from a 32-byte digest, forcing the mutability flag.</summary>
    public static BlockAddress FromDigest(ReadOnlySpan<byte> digest, bool immutable)
    {
        var a = FromBytes(digest);
        var w3 = immutable ? a._w3 | 1UL : a._w3 & ~1UL;
        return new BlockAddress(a._w0, a._w1, a._w2, w3);
    }

    /// <summary>True when the block at this address is immutable (content-addressed).</summary>
    public bool IsImmutable => (_w3 & 1UL) != 0;

    /// <summary>The first 64 bits, big-endian: shard selection takes the leading bits of this.</summary>
    public ulong Prefix => _w0;

    /// <summary>Writes the 32 bytes into <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    /// <summary>The 32 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Parses <c>0x</c> + 64 hex digits (the prefix is optional).</summary>
    public static bool TryParse(string? text, out BlockAddress address)
    {
        address = default;
        if (text is null)
        {
            return false;
        }
        var hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text.AsSpan(2) : text.AsSpan();
        if (hex.Length != Length * 2)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[Length];
        if (Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != Length)
        {
            return false;
        }
        address = FromBytes(bytes);
        return true;
    }

    /// <summary>Parses <c>0x</c> + 64 hex digits; throws <see cref="FormatException"/> otherwise.</summary>
    public static BlockAddress Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not a block address (0x + 64 hex digits).");

    /// <inheritdoc />
    public bool Equals(BlockAddress other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is BlockAddress other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    /// <inheritdoc />
    public int CompareTo(BlockAddress other)
    {
        var c = _w0.CompareTo(other._w0);
        if (c != 0) return c;
        c = _w1.CompareTo(other._w1);
        if (c != 0) return c;
        c = _w2.CompareTo(other._w2);
        return c != 0 ? c : _w3.CompareTo(other._w3);
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(BlockAddress a, BlockAddress b) => a.Equals(b);
    /// <summary>Inequality.</summary>
    public static bool operator !=(BlockAddress a, BlockAddress b) => !a.Equals(b);

    /// <inheritdoc />
    public override string ToString() => "0x" + Convert.ToHexStringLower(ToArray());
}
