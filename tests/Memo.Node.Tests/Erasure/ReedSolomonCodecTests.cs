using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Node.Erasure;
using Memo.Protocol.Blocks;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Erasure;

/// <summary>
/// The Reed–Solomon codec's properties, checked exhaustively over every subset for small codes and on random
/// blocks of many lengths: any K of K + M fragments give the block back, K − 1 do not determine it, and a damaged
/// fragment is caught by its record's hash before it is decoded.
/// </summary>
public sealed class ReedSolomonCodecTests(ITestOutputHelper output)
{
    private static IEnumerable<int[]> Subsets(int n, int size, int from = 0)
    {
        if (size == 0)
        {
            yield return [];
            yield break;
        }
        for (var i = from; i <= n - size; i++)
        {
            foreach (var rest in Subsets(n, size - 1, i + 1))
            {
                yield return [i, .. rest];
            }
        }
    }

    [Fact]
    public void Field_multiplication_matches_a_carry_less_multiply_reduced_by_the_polynomial_and_every_nonzero_element_has_an_inverse()
    {
        static byte Slow(byte a, byte b)
        {
            var product = 0;
            for (var bit = 0; bit < 8; bit++)
            {
                if ((b & (1 << bit)) != 0)
                {
                    product ^= a << bit;
                }
            }
            for (var bit = 15; bit >= 8; bit--)
            {
                if ((product & (1 << bit)) != 0)
                {
                    product ^= 0x11D << (bit - 8);
                }
            }
            return (byte)product;
        }
        for (var a = 0; a < 256; a++)
        {
            for (var b = 0; b < 256; b++)
            {
                Assert.Equal(Slow((byte)a, (byte)b), GaloisField.Multiply((byte)a, (byte)b));
            }
            if (a != 0)
            {
                Assert.Equal(1, GaloisField.Multiply((byte)a, GaloisField.Inverse((byte)a)));
            }
        }
        Assert.Throws<DivideByZeroException>(() => GaloisField.Inverse(0));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 2)]
    [InlineData(6, 3)]
    [InlineData(10, 6)]
    public void Every_set_of_K_fragments_gives_the_block_back(int k, int m)
    {
        var codec = new ReedSolomonCodec(k, m);
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        foreach (var length in new[] { 0, 1, k - 1, k, k + 1, 1000, 65_537 })
        {
            var block = new byte[Math.Max(0, length)];
            random.NextBytes(block);
            var fragments = codec.Encode(block);
            Assert.Equal(k + m, fragments.Length);
            Assert.All(fragments, f => Assert.Equal(codec.FragmentLength(block.Length), f.Length));
            // Systematic: the data fragments are the block itself.
            Assert.Equal(block, fragments.Take(k).SelectMany(f => f).Take(block.Length).ToArray());
            var sets = Subsets(k + m, k).ToList();
            // 16 choose 10 is 8,008 subsets: the large code is sampled (40 per length), the small ones are checked exhaustively.
            foreach (var set in sets.Count > 300 ? sets.OrderBy(_ => random.Next()).Take(40) : sets)
            {
                var chosen = set.Select(i => new Fragment(i, fragments[i])).OrderBy(_ => random.Next()).ToList();
                Assert.Equal(block, codec.Decode(chosen, block.Length));
                foreach (var missing in Enumerable.Range(0, k + m).Where(i => !set.Contains(i)))
                {
                    Assert.Equal(fragments[missing], codec.Reconstruct(chosen, missing, block.Length));
                }
            }
        }
    }

    [Fact]
    public void K_minus_one_fragments_are_refused_and_do_not_determine_the_block()
    {
        var codec = new ReedSolomonCodec(4, 2);
        var block = RandomNumberGenerator.GetBytes(4000);
        var fragments = codec.Encode(block);
        foreach (var set in Subsets(6, 3))
        {
            var e = Assert.Throws<ArgumentException>(() => codec.Decode([.. set.Select(i => new Fragment(i, fragments[i]))], block.Length));
            Assert.Contains("3 distinct fragments cannot rebuild the block; any 4 can", e.Message, StringComparison.Ordinal);
        }
        // Not a limit of the decoder: any K - 1 fragments are shared by two different blocks. The code is linear, so a
        // block X whose fragments are zero at those K - 1 indexes (decoded from zeros there and ones at one more index)
        // added to the block changes it without changing those fragments.
        foreach (var set in Subsets(6, 3))
        {
            var extra = Enumerable.Range(0, 6).First(i => !set.Contains(i));
            var x = codec.Decode([.. set.Select(i => new Fragment(i, new byte[1000])), new Fragment(extra, Enumerable.Repeat((byte)1, 1000).ToArray())], block.Length);
            var other = block.Zip(x, (a, b) => (byte)(a ^ b)).ToArray();
            Assert.NotEqual(block, other);
            var otherFragments = codec.Encode(other);
            Assert.All(set, i => Assert.Equal(fragments[i], otherFragments[i]));
        }
    }

    [Fact]
    public void Duplicate_indexes_do_not_count_twice_and_fragments_of_the_wrong_length_are_refused()
    {
        var codec = new ReedSolomonCodec(3, 2);
        var fragments = codec.Encode(new byte[300]);
        Assert.Throws<ArgumentException>(() => codec.Decode([new(0, fragments[0]), new(0, fragments[0]), new(4, fragments[4])], 300));
        Assert.Throws<ArgumentException>(() => codec.Decode([new(0, fragments[0]), new(1, fragments[1]), new(2, new byte[99])], 300));
        Assert.Throws<ArgumentException>(() => codec.Decode([new(0, fragments[0]), new(1, fragments[1]), new(7, fragments[2])], 300));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReedSolomonCodec(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReedSolomonCodec(200, 57));
    }

    [Fact]
    public void A_fragment_damaged_after_it_was_cut_fails_its_record_check()
    {
        var coding = new ErasureCoding(4, 2, 1024);
        var codec = new ReedSolomonCodec(4, 2);
        var address = BlockAddress.FromBytes([.. Enumerable.Repeat((byte)7, 31), 1]);
        var records = FragmentRecords.Cut(codec, address, RandomNumberGenerator.GetBytes(10_000));
        Assert.All(records, r => Assert.Null(FragmentRecords.Problem(r, address, coding)));

        var rotten = records[2].Clone();
        var data = rotten.Data.ToByteArray();
        data[17] ^= 0x20;
        rotten.Data = ByteString.CopyFrom(data);
        Assert.Equal("fragment 2 does not match its hash", FragmentRecords.Problem(rotten, address, coding));

        var otherBlock = BlockAddress.FromBytes([.. Enumerable.Repeat((byte)8, 31), 1]);
        Assert.Equal("it names another block", FragmentRecords.Problem(records[0], otherBlock, coding));
        Assert.Equal("it is cut 4+2, the network 3+3", FragmentRecords.Problem(records[0], address, new ErasureCoding(3, 3, 1024)));
        var shortened = records[1].Clone();
        shortened.Data = ByteString.CopyFrom(records[1].Data.Span[..100]);
        Assert.StartsWith("fragment 1 has 100 bytes", FragmentRecords.Problem(shortened, address, coding), StringComparison.Ordinal);
    }

    [Fact]
    public void Encoding_and_decoding_a_megabyte_is_printed()
    {
        var codec = new ReedSolomonCodec(4, 2);
        var block = RandomNumberGenerator.GetBytes(1 << 20);
        // Once on a small block first, so the figures leave the JIT out.
        var warm = codec.Encode(new byte[4096]);
        codec.Decode([new(2, warm[2]), new(3, warm[3]), new(4, warm[4]), new(5, warm[5])], 4096);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var fragments = codec.Encode(block);
        var encoded = clock.Elapsed;
        clock.Restart();
        var decoded = codec.Decode([new(2, fragments[2]), new(3, fragments[3]), new(4, fragments[4]), new(5, fragments[5])], block.Length);
        var decodedIn = clock.Elapsed;
        Assert.Equal(block, decoded);
        output.WriteLine($"4+2, 1 MiB: encode {encoded.TotalMilliseconds:F1} ms, decode without 2 data fragments {decodedIn.TotalMilliseconds:F1} ms");
    }
}
