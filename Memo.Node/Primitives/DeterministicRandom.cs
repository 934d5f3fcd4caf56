namespace Memo.Node;

/// <summary>
/// The project's seeded PRNG (SplitMix64), the only randomness the pure cores use: Raft's election jitter, the
/// cluster's ring tokens and gossip targets. A core's choices are then a pure function of its seed and inputs, and
/// a simulation replays exactly from its seed. Not thread-safe: one owner (an actor, or the simulator) draws from it.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _state;

    /// <summary>Starts the sequence at <paramref name="seed"/>; equal seeds give equal sequences.</summary>
    public DeterministicRandom(ulong seed) => _state = seed;

    /// <summary>A uniform 64-bit value.</summary>
    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform value in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        var bound = (ulong)maxExclusive;
        // Rejection keeps every value equally likely: drop draws from the incomplete last block of 2^64 mod bound.
        var limit = ulong.MaxValue - (ulong.MaxValue % bound);
        ulong draw;
        do
        {
            draw = NextUInt64();
        }
        while (draw >= limit);
        return (int)(draw % bound);
    }

    /// <summary>A uniform value in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
