using System.Buffers;

namespace Memo.Testing;

/// <summary>
/// Bytes as a <see cref="ReadOnlySequence{T}"/> of several segments, the shape a transport's pipe hands a parser: each
/// segment is its own copy, so code that reads past a segment's end finds nothing of the next one.
/// </summary>
public static class SegmentedBytes
{
    /// <summary>The bytes in segments of <paramref name="segmentSize"/> bytes (the last one shorter); one segment when
    /// they fit in one.</summary>
    public static ReadOnlySequence<byte> Of(byte[] bytes, int segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(segmentSize);
        if (bytes.Length <= segmentSize)
        {
            return new ReadOnlySequence<byte>(bytes.ToArray());
        }
        var first = new Segment(bytes.AsMemory(0, segmentSize).ToArray(), 0);
        var last = first;
        for (var start = segmentSize; start < bytes.Length; start += segmentSize)
        {
            last = last.Append(bytes.AsMemory(start, Math.Min(segmentSize, bytes.Length - start)).ToArray());
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
