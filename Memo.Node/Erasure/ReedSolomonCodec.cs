namespace Memo.Node.Erasure;

/// <summary>
/// A systematic Reed–Solomon erasure code over GF(2^8): a block is cut into K data fragments of equal length (the
/// last one zero-padded) and M parity fragments are computed from them; any K of the K + M fragments give the block
/// back.
/// </summary>
/// <remarks>
/// <para>Design note. The encoding matrix is the (K + M) × K matrix [I; C]: the identity (so fragments 0..K-1 are the
/// data itself, and a read that gets them needs no arithmetic) over a Cauchy matrix C with C[i, j] = 1 / (x_i + y_j),
/// x_i = K + i, y_j = j (all distinct elements of GF(2^8), so K + M ≤ 256). Every square submatrix of a Cauchy matrix
/// is invertible, hence every K rows of [I; C] are (expand the determinant along the identity rows), which is the
/// "any K reconstruct" property. A Vandermonde matrix would need an extra elimination to make it systematic; Cauchy
/// is systematic as written (Blömer et al., "An XOR-based erasure-resilient coding scheme", 1995; Plank, "A tutorial
/// on Reed–Solomon coding", with its 2003 correction on Vandermonde systematisation).</para>
/// <para>Decoding picks the K rows of the fragments at hand, inverts that K × K matrix by Gauss–Jordan elimination
/// (K ≤ 16 here, so at most a few thousand table lookups) and multiplies: a missing data fragment is a linear
/// combination of the K fragments held. The bulk work is <see cref="GaloisField.MultiplyAdd"/>, one product-table
/// lookup and one XOR per byte and coefficient; nothing is allocated per byte.</para>
/// <para>The codec is pure: no I/O, no randomness, no hashing (integrity is the caller's: each stored fragment carries
/// its hash and the decoded block is checked against its content address).</para>
/// </remarks>
public sealed class ReedSolomonCodec
{
    private readonly byte[,] _parity;

    /// <summary>A codec of <paramref name="dataFragments"/> data and <paramref name="parityFragments"/> parity fragments.</summary>
    /// <exception cref="ArgumentOutOfRangeException">K or M below 1, or K + M above 256.</exception>
    public ReedSolomonCodec(int dataFragments, int parityFragments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dataFragments, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parityFragments, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dataFragments + parityFragments, 256, nameof(parityFragments));
        DataFragments = dataFragments;
        ParityFragments = parityFragments;
        _parity = new byte[parityFragments, dataFragments];
        for (var i = 0; i < parityFragments; i++)
        {
            for (var j = 0; j < dataFragments; j++)
            {
                _parity[i, j] = GaloisField.Inverse((byte)((dataFragments + i) ^ j));
            }
        }
    }

    /// <summary>K: the fragments any reconstruction needs.</summary>
    public int DataFragments { get; }

    /// <summary>M: the fragments that may be lost.</summary>
    public int ParityFragments { get; }

    /// <summary>K + M.</summary>
    public int TotalFragments => DataFragments + ParityFragments;

    /// <summary>The length of each fragment of a block of <paramref name="blockLength"/> bytes (at least 1).</summary>
    public int FragmentLength(int blockLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blockLength);
        return Math.Max(1, (int)(((long)blockLength + DataFragments - 1) / DataFragments));
    }

    /// <summary>The K + M fragments of <paramref name="block"/>, in index order (0..K-1 data, K..K+M-1 parity).</summary>
    public byte[][] Encode(ReadOnlySpan<byte> block)
    {
        var length = FragmentLength(block.Length);
        var fragments = new byte[TotalFragments][];
        for (var j = 0; j < DataFragments; j++)
        {
            var fragment = new byte[length];
            var start = Math.Min(block.Length, j * length);
            block.Slice(start, Math.Min(length, block.Length - start)).CopyTo(fragment);
            fragments[j] = fragment;
        }
        for (var i = 0; i < ParityFragments; i++)
        {
            fragments[DataFragments + i] = Combine(Row(DataFragments + i), fragments.AsSpan(0, DataFragments), length);
        }
        return fragments;
    }

    /// <summary>
    /// The block of <paramref name="blockLength"/> bytes from any K fragments of distinct indexes (more are ignored).
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than K distinct valid indexes, or fragments of unequal or wrong length.</exception>
    public byte[] Decode(IReadOnlyList<Fragment> fragments, int blockLength)
    {
        var data = DataOf(fragments, FragmentLength(blockLength));
        var block = new byte[blockLength];
        for (var j = 0; j < DataFragments && j * data[0].Length < blockLength; j++)
        {
            var start = j * data[j].Length;
            data[j].AsSpan(0, Math.Min(data[j].Length, blockLength - start)).CopyTo(block.AsSpan(start));
        }
        return block;
    }

    /// <summary>
    /// Fragment <paramref name="index"/> of a block of <paramref name="blockLength"/> bytes, rebuilt from any K other
    /// fragments (what a repair stores on the node that lost it), without materialising the block.
    /// </summary>
    public byte[] Reconstruct(IReadOnlyList<Fragment> fragments, int index, int blockLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, TotalFragments);
        var length = FragmentLength(blockLength);
        var data = DataOf(fragments, length);
        return index < DataFragments ? data[index] : Combine(Row(index), data, length);
    }

    // The K data fragments from any K fragments: copied when held, else solved for with the inverse of the held rows.
    private byte[][] DataOf(IReadOnlyList<Fragment> fragments, int length)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        var chosen = new List<Fragment>(DataFragments);
        var seen = new bool[TotalFragments];
        foreach (var fragment in fragments)
        {
            if (fragment.Index < 0 || fragment.Index >= TotalFragments)
            {
                throw new ArgumentException($"Fragment index {fragment.Index} is outside 0..{TotalFragments - 1}.", nameof(fragments));
            }
            if (fragment.Data.Length != length)
            {
                throw new ArgumentException($"Fragment {fragment.Index} has {fragment.Data.Length} bytes; this block's fragments have {length}.", nameof(fragments));
            }
            if (!seen[fragment.Index])
            {
                seen[fragment.Index] = true;
                chosen.Add(fragment);
                if (chosen.Count == DataFragments)
                {
                    break;
                }
            }
        }
        if (chosen.Count < DataFragments)
        {
            throw new ArgumentException($"{chosen.Count} distinct fragments cannot rebuild the block; any {DataFragments} can.", nameof(fragments));
        }
        var data = new byte[DataFragments][];
        if (chosen.TrueForAll(f => f.Index < DataFragments))
        {
            foreach (var fragment in chosen)
            {
                data[fragment.Index] = fragment.Data.ToArray();
            }
            return data;
        }
        var matrix = new byte[DataFragments, DataFragments];
        for (var r = 0; r < DataFragments; r++)
        {
            var row = Row(chosen[r].Index);
            for (var c = 0; c < DataFragments; c++)
            {
                matrix[r, c] = row[c];
            }
        }
        var inverse = Invert(matrix);
        var held = chosen.Select(f => f.Data).ToArray();
        for (var j = 0; j < DataFragments; j++)
        {
            var fragment = new byte[length];
            for (var r = 0; r < DataFragments; r++)
            {
                GaloisField.MultiplyAdd(inverse[j, r], held[r].Span, fragment);
            }
            data[j] = fragment;
        }
        return data;
    }

    // Row `index` of the encoding matrix [I; C].
    private byte[] Row(int index)
    {
        var row = new byte[DataFragments];
        if (index < DataFragments)
        {
            row[index] = 1;
        }
        else
        {
            for (var j = 0; j < DataFragments; j++)
            {
                row[j] = _parity[index - DataFragments, j];
            }
        }
        return row;
    }

    private static byte[] Combine(byte[] coefficients, ReadOnlySpan<byte[]> sources, int length)
    {
        var result = new byte[length];
        for (var j = 0; j < coefficients.Length; j++)
        {
            GaloisField.MultiplyAdd(coefficients[j], sources[j], result);
        }
        return result;
    }

    // Gauss–Jordan elimination over GF(2^8). Every K rows of [I; C] are invertible, so a zero pivot column is a bug.
    private static byte[,] Invert(byte[,] matrix)
    {
        var n = matrix.GetLength(0);
        var a = (byte[,])matrix.Clone();
        var inverse = new byte[n, n];
        for (var i = 0; i < n; i++)
        {
            inverse[i, i] = 1;
        }
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            while (pivot < n && a[pivot, col] == 0)
            {
                pivot++;
            }
            if (pivot == n)
            {
                throw new InvalidOperationException("The decoding matrix is singular: the encoding matrix is not MDS (a bug).");
            }
            if (pivot != col)
            {
                for (var c = 0; c < n; c++)
                {
                    (a[col, c], a[pivot, c]) = (a[pivot, c], a[col, c]);
                    (inverse[col, c], inverse[pivot, c]) = (inverse[pivot, c], inverse[col, c]);
                }
            }
            var scale = GaloisField.Inverse(a[col, col]);
            for (var c = 0; c < n; c++)
            {
                a[col, c] = GaloisField.Multiply(a[col, c], scale);
                inverse[col, c] = GaloisField.Multiply(inverse[col, c], scale);
            }
            for (var r = 0; r < n; r++)
            {
                if (r == col || a[r, col] == 0)
                {
                    continue;
                }
                var factor = a[r, col];
                for (var c = 0; c < n; c++)
                {
                    a[r, c] ^= GaloisField.Multiply(factor, a[col, c]);
                    inverse[r, c] ^= GaloisField.Multiply(factor, inverse[col, c]);
                }
            }
        }
        return inverse;
    }
}

/// <summary>One fragment handed to the decoder: its index in the code (0..K+M-1) and its bytes.</summary>
public readonly record struct Fragment(int Index, ReadOnlyMemory<byte> Data);
