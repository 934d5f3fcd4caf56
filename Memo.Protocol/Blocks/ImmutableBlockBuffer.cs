using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Blocks;

/// <summary>
/// An array laid out as an owned immutable block's encoding before the block exists: room for its type and address,
/// then its data, then room for its salt and owner key. A request parser reads a large value straight into
/// <see cref="Data"/>; the block later made over that data (<see cref="BlockFactory.MakeImmutableSharing"/>) is encoded
/// by <see cref="EncodingOf"/> filling the room around it, instead of copying the data into a second array of its size.
/// </summary>
/// <remarks>
/// Why: on a node taking a 1 MiB value, protobuf's parse copied the value into one array and the block's encoding
/// copied it into another (docs/performance.md, "Large values"). The room is sized for the block a key-value write
/// makes (type "CHB", a <see cref="BlockAddress.Length"/>-byte address, a <see cref="BlockLimits.SaltBytes"/>-byte salt,
/// a <see cref="BlockLimits.PublicKeyBytes"/>-byte owner key); any other block over the data (or a second block over
/// the same data) is encoded the ordinary way, into a new array. Nothing but <see cref="EncodingOf"/> writes outside
/// <see cref="Data"/>, and only once, so the data's readers never see it change.
/// </remarks>
public sealed class ImmutableBlockBuffer
{
    private const int DataTag = (3 << 3) | 2;

    // The buffers whose room is still to be filled, found from the array a block's data lies in. Weak: a buffer whose
    // value never became a block (a refused write) goes with its array.
    private static readonly ConditionalWeakTable<byte[], ImmutableBlockBuffer> Buffers = new();

    private static readonly int HeadBeforeLength =
        1 + CodedOutputStream.ComputeStringSize(BlockKinds.ImmutableType) + 1 + CodedOutputStream.ComputeLengthSize(BlockAddress.Length) + BlockAddress.Length + 1;
    private static readonly int TailLength =
        1 + CodedOutputStream.ComputeLengthSize(BlockLimits.SaltBytes) + BlockLimits.SaltBytes
        + 1 + CodedOutputStream.ComputeLengthSize(BlockLimits.PublicKeyBytes) + BlockLimits.PublicKeyBytes;

    private readonly byte[] _array;
    private readonly int _dataOffset;
    private readonly int _dataLength;
    private int _filled;

    private ImmutableBlockBuffer(int dataLength)
    {
        _dataLength = dataLength;
        _dataOffset = HeadBeforeLength + CodedOutputStream.ComputeLengthSize(dataLength);
        // Not zeroed: the data is written by the allocator and the room by EncodingOf before the array is given out as
        // an encoding, so nothing reads bytes it did not write (zeroing 1 MiB was a visible share of a put's CPU).
        _array = GC.AllocateUninitializedArray<byte>(_dataOffset + dataLength + TailLength);
        Buffers.Add(_array, this);
    }

    /// <summary>A buffer for <paramref name="dataLength"/> bytes of data (at most <see cref="BlockLimits.MaxDataBytes"/>).</summary>
    public static ImmutableBlockBuffer Allocate(int dataLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dataLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dataLength, BlockLimits.MaxDataBytes);
        return new ImmutableBlockBuffer(dataLength);
    }

    /// <summary>Where the data goes: written by the one who allocated the buffer, before any block is made over it.</summary>
    public Memory<byte> Data => _array.AsMemory(_dataOffset, _dataLength);

    /// <summary>
    /// The encoding of <paramref name="block"/> (the bytes <c>block.ToByteArray()</c> gives): the array of the
    /// <see cref="ImmutableBlockBuffer"/> its data lies in, its room filled, when the block fits that room and no block
    /// was encoded there before; otherwise a new array. The caller must not change the array.
    /// </summary>
    public static byte[] EncodingOf(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.PayloadCase == Block.PayloadOneofCase.Data
            && MemoryMarshal.TryGetArray(block.Data.Memory, out var segment)
            && segment.Array is { } array
            && Buffers.TryGetValue(array, out var buffer)
            && segment.Offset == buffer._dataOffset
            && segment.Count == buffer._dataLength
            && buffer.TryFill(block))
        {
            return array;
        }
        return block.ToByteArray();
    }

    // Writes the block's fields before and after its data into the room, when they are exactly the room's size: the
    // encoding writes fields in field-number order (type 1, address 2, data 3, salt 4, owner 5, then the rest), so the
    // fields below 3 go before the data and every other field after it.
    private bool TryFill(Block block)
    {
        var head = new Block { Type = block.Type, Address = block.Address };
        var tail = block.Clone();
        tail.Type = "";
        tail.Address = ByteString.Empty;
        tail.ClearPayload();
        var headLength = head.CalculateSize();
        if (headLength + 1 + CodedOutputStream.ComputeLengthSize(_dataLength) != _dataOffset
            || tail.CalculateSize() != _array.Length - _dataOffset - _dataLength
            || Interlocked.Exchange(ref _filled, 1) != 0)
        {
            return false;
        }
        var span = _array.AsSpan();
        head.WriteTo(span[..headLength]);
        span[headLength] = DataTag;
        var position = headLength + 1;
        for (var length = (uint)_dataLength; ; length >>= 7)
        {
            if (length < 0x80)
            {
                span[position++] = (byte)length;
                break;
            }
            span[position++] = (byte)(length | 0x80);
        }
        tail.WriteTo(span[(_dataOffset + _dataLength)..]);
        Buffers.Remove(_array);
        return true;
    }
}
