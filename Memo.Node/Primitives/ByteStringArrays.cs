using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Memo.Node;

/// <summary>Hands on the array under a <see cref="ByteString"/> that nobody else holds, instead of copying it.</summary>
internal static class ByteStringArrays
{
    /// <summary>
    /// The bytes of <paramref name="data"/> as an array the caller may keep and change: the array under it when it spans
    /// all of one (what the protobuf parser makes for every bytes field, and what <see cref="UnsafeByteOperations"/>
    /// wraps), else a copy. Only for a byte string that no one else holds: one parsed from a message the caller owns and
    /// drops, or one wrapping an array that was the caller's own.
    /// </summary>
    public static byte[] TakeArray(ByteString data) =>
        MemoryMarshal.TryGetArray(data.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : data.ToByteArray();
}
