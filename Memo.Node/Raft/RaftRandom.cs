namespace Memo.Node.Raft;

/// <summary>
/// The core's own seeded PRNG (SplitMix64) for election jitter, so a replica's behaviour is a pure function
/// of its seed and inputs and a simulation replays exactly from its seed.
/// </summary>
internal sealed class RaftRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>A uniform value in [0, <paramref name="maxExclusive"/>).</summary>
    public int Next(int maxExclusive)
    {
        RaftInvariantException.ThrowIf(maxExclusive <= 0, "random bound must be positive");
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    private ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
