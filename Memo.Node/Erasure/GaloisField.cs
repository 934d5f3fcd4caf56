namespace Memo.Node.Erasure;

/// <summary>
/// Arithmetic in GF(2^8) with the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D, the one most Reed–Solomon
/// storage codes use): addition is XOR, multiplication goes through a full 256 × 256 product table built once, so the
/// codec's inner loop is one table lookup and one XOR per byte, with no branches and no allocation.
/// </summary>
public static class GaloisField
{
    private const int Polynomial = 0x11D;
    private static readonly byte[] Exp = new byte[512];
    private static readonly byte[] Log = new byte[256];
    private static readonly byte[] Products = new byte[256 * 256];

    static GaloisField()
    {
        var x = 1;
        for (var i = 0; i < 255; i++)
        {
            Exp[i] = (byte)x;
            Log[x] = (byte)i;
            x <<= 1;
            if ((x & 0x100) != 0)
            {
                x ^= Polynomial;
            }
        }
        // Doubled so a sum of two logarithms indexes it without a modulo.
        for (var i = 255; i < Exp.Length; i++)
        {
            Exp[i] = Exp[i - 255];
        }
        for (var a = 1; a < 256; a++)
        {
            for (var b = 1; b < 256; b++)
            {
                Products[(a << 8) | b] = Exp[Log[a] + Log[b]];
            }
        }
    }

    /// <summary>The product of <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static byte Multiply(byte a, byte b) => Products[(a << 8) | b];

    /// <summary>The multiplicative inverse of <paramref name="a"/>.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="a"/> is 0.</exception>
    public static byte Inverse(byte a) => a == 0 ? throw new DivideByZeroException("0 has no inverse in GF(2^8).") : Exp[255 - Log[a]];

    /// <summary>The 256 products of <paramref name="factor"/> with every byte: the row a bulk multiply reads.</summary>
    public static ReadOnlySpan<byte> RowOf(byte factor) => Products.AsSpan(factor << 8, 256);

    /// <summary>target[i] ^= factor · source[i] for every i: the codec's one bulk operation.</summary>
    public static void MultiplyAdd(byte factor, ReadOnlySpan<byte> source, Span<byte> target)
    {
        if (source.Length != target.Length)
        {
            throw new ArgumentException("The source and target spans differ in length.", nameof(target));
        }
        if (factor == 0)
        {
            return;
        }
        if (factor == 1)
        {
            for (var i = 0; i < source.Length; i++)
            {
                target[i] ^= source[i];
            }
            return;
        }
        var row = RowOf(factor);
        for (var i = 0; i < source.Length; i++)
        {
            target[i] ^= row[source[i]];
        }
    }
}
