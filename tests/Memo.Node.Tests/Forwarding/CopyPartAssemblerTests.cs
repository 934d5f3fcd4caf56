using Google.Protobuf;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Tests.Forwarding;

/// <summary>
/// <see cref="CopyPartAssembler"/>'s rules: parts in order make the whole copy; a gap, a repeat or a part out of order
/// drops the transfer; the bounds on one copy and on all transfers together; idle transfers evicted; nothing left
/// behind once a transfer ends, whichever way it ends.
/// </summary>
public sealed class CopyPartAssemblerTests
{
    private static readonly NodeId A = new(1);
    private static readonly NodeId B = new(2);

    [Fact]
    public void Parts_in_order_make_the_whole_copy_and_the_transfer_is_forgotten_once_it_ends()
    {
        var assembler = new CopyPartAssembler(1000, 10_000, 1000);
        var bytes = Bytes(250, seed: 1);

        Assert.Null(assembler.Add(A, Part(7, bytes, 0, 100, first: true), nowMs: 0));
        Assert.Null(assembler.Add(A, Part(7, bytes, 100, 100), nowMs: 1));
        Assert.Equal((1, 250L), (assembler.InProgress, assembler.AssemblingBytes));
        var whole = assembler.Complete(A, 7, bytes.AsSpan(200), out var problem);

        Assert.Equal(bytes, whole);
        Assert.Equal("", problem);
        Assert.Equal((0, 0L, 0L), (assembler.InProgress, assembler.AssemblingBytes, assembler.Refused));
    }

    [Fact]
    public void Transfers_of_two_senders_with_the_same_id_are_kept_apart()
    {
        var assembler = new CopyPartAssembler(1000, 10_000, 1000);
        var (fromA, fromB) = (Bytes(150, seed: 2), Bytes(150, seed: 3));

        Assert.Null(assembler.Add(A, Part(5, fromA, 0, 100, first: true), 0));
        Assert.Null(assembler.Add(B, Part(5, fromB, 0, 100, first: true), 0));

        Assert.Equal(fromB, assembler.Complete(B, 5, fromB.AsSpan(100), out _));
        Assert.Equal(fromA, assembler.Complete(A, 5, fromA.AsSpan(100), out _));
    }

    [Fact]
    public void A_lost_part_drops_the_transfer_at_the_next_part_and_its_end_is_refused()
    {
        var assembler = new CopyPartAssembler(1000, 10_000, 1000);
        var bytes = Bytes(300, seed: 4);
        Assert.Null(assembler.Add(A, Part(9, bytes, 0, 100, first: true), 0));

        // The part at 100 was lost: the one at 200 does not follow.
        var refused = assembler.Add(A, Part(9, bytes, 200, 50), 1);

        Assert.Contains("does not follow the 100 of 300 bytes", refused, StringComparison.Ordinal);
        Assert.Equal((0, 0L), (assembler.InProgress, assembler.AssemblingBytes));
        Assert.Null(assembler.Complete(A, 9, bytes.AsSpan(250), out var problem));
        Assert.Contains("not in progress", problem, StringComparison.Ordinal);
        Assert.Equal(2, assembler.Refused);
    }

    [Fact]
    public void A_transfer_that_ends_short_or_long_is_refused_and_forgotten()
    {
        var assembler = new CopyPartAssembler(1000, 10_000, 1000);
        var bytes = Bytes(300, seed: 5);
        Assert.Null(assembler.Add(A, Part(1, bytes, 0, 100, first: true), 0));
        Assert.Null(assembler.Add(A, Part(2, bytes, 0, 100, first: true), 0));

        Assert.Null(assembler.Complete(A, 1, bytes.AsSpan(100, 150), out var shortProblem));
        Assert.Null(assembler.Complete(A, 2, new byte[201], out var longProblem));
        Assert.Contains("ends with 250 of its 300 bytes", shortProblem, StringComparison.Ordinal);
        Assert.Contains("ends with 301 of its 300 bytes", longProblem, StringComparison.Ordinal);
        Assert.Equal((0, 0L), (assembler.InProgress, assembler.AssemblingBytes));
    }

    [Fact]
    public void A_part_that_overruns_its_copy_or_repeats_a_start_drops_the_transfer()
    {
        var assembler = new CopyPartAssembler(1000, 10_000, 1000);
        var bytes = Bytes(300, seed: 6);
        Assert.Null(assembler.Add(A, Part(3, bytes, 0, 100, first: true), 0));
        Assert.Null(assembler.Add(A, Part(4, bytes, 0, 100, first: true), 0));

        var overrun = new CopyPart { Transfer = 3, Offset = 100, Data = ByteString.CopyFrom(new byte[201]) };
        Assert.Contains("does not follow", assembler.Add(A, overrun, 1), StringComparison.Ordinal);
        Assert.Contains("started twice", assembler.Add(A, Part(4, bytes, 0, 100, first: true), 1), StringComparison.Ordinal);

        Assert.Equal((0, 0L), (assembler.InProgress, assembler.AssemblingBytes));
    }

    [Fact]
    public void Malformed_parts_and_copies_over_the_bounds_are_refused_without_holding_memory()
    {
        var assembler = new CopyPartAssembler(maxCopyBytes: 500, maxAssemblingBytes: 800, idleLimitMs: 1000);
        var bytes = Bytes(500, seed: 7);

        Assert.Contains("names no transfer", assembler.Add(A, Part(0, bytes, 0, 10, first: true), 0), StringComparison.Ordinal);
        Assert.Contains("not between 1 and 500", assembler.Add(A, new CopyPart { Transfer = 1, Total = 501 }, 0), StringComparison.Ordinal);
        Assert.Contains("not between 1 and 500", assembler.Add(A, new CopyPart { Transfer = 1, Total = 0 }, 0), StringComparison.Ordinal);
        Assert.Contains("not in progress", assembler.Add(A, Part(2, bytes, 10, 10), 0), StringComparison.Ordinal);
        Assert.Null(assembler.Add(A, Part(3, bytes, 0, 10, first: true), 0));
        // 500 held; another 500 would pass the 800-byte bound.
        Assert.Contains("being put together already", assembler.Add(B, Part(4, bytes, 0, 10, first: true), 0), StringComparison.Ordinal);

        Assert.Equal((1, 500L, 5L), (assembler.InProgress, assembler.AssemblingBytes, assembler.Refused));
    }

    [Fact]
    public void A_transfer_idle_past_the_limit_is_evicted_when_a_new_one_starts()
    {
        var assembler = new CopyPartAssembler(maxCopyBytes: 500, maxAssemblingBytes: 800, idleLimitMs: 1000);
        var bytes = Bytes(500, seed: 8);
        Assert.Null(assembler.Add(A, Part(1, bytes, 0, 10, first: true), nowMs: 0));
        Assert.Null(assembler.Add(A, Part(1, bytes, 10, 10), nowMs: 500));

        // 999 ms after its last part: still waited for, and the bound refuses the newcomer.
        Assert.NotNull(assembler.Add(B, Part(2, bytes, 0, 10, first: true), nowMs: 1499));
        // 1000 ms after: evicted, and the newcomer fits.
        Assert.Null(assembler.Add(B, Part(2, bytes, 0, 10, first: true), nowMs: 1500));

        Assert.Equal((1, 500L), (assembler.InProgress, assembler.AssemblingBytes));
        Assert.Null(assembler.Complete(A, 1, bytes.AsSpan(20), out var problem));
        Assert.Contains("not in progress", problem, StringComparison.Ordinal);
        Assert.Equal(bytes, assembler.Complete(B, 2, bytes.AsSpan(10), out _));
    }

    private static CopyPart Part(ulong transfer, byte[] copy, int offset, int length, bool first = false) => new()
    {
        Transfer = transfer,
        Offset = (uint)offset,
        Total = first ? (uint)copy.Length : 0,
        Data = ByteString.CopyFrom(copy, offset, length),
    };

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
