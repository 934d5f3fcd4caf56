namespace Memo.Testing.Linearizability;

/// <summary>A fixed-size set of small ints (operation slots); value equality so it can key the search's memo.</summary>
internal sealed class Bitset : IEquatable<Bitset>
{
    private readonly ulong[] _words;

    public Bitset(int size)
    {
        _words = new ulong[(size + 63) / 64];
    }

    private Bitset(ulong[] words)
    {
        _words = words;
    }

    /// <summary>Approximate heap footprint of one copy, for the memo's memory limit.</summary>
    public int ApproximateBytes => 48 + (8 * _words.Length);

    public void Set(int index) => _words[index >> 6] |= 1UL << (index & 63);

    public void Clear(int index) => _words[index >> 6] &= ~(1UL << (index & 63));

    public bool Contains(int index) => (_words[index >> 6] & (1UL << (index & 63))) != 0;

    public Bitset Copy() => new((ulong[])_words.Clone());

    /// <summary>Whether every member of this set is in <paramref name="other"/> (same size assumed).</summary>
    public bool IsSubsetOf(Bitset other)
    {
        for (var i = 0; i < _words.Length; i++)
        {
            if ((_words[i] & ~other._words[i]) != 0)
            {
                return false;
            }
        }

        return true;
    }

    public bool Equals(Bitset? other) => other is not null && _words.AsSpan().SequenceEqual(other._words);

    public override bool Equals(object? obj) => Equals(obj as Bitset);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var word in _words)
        {
            hash.Add(word);
        }

        return hash.ToHashCode();
    }
}
