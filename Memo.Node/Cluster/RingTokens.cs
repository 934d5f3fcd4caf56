using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>Draws a joining node's ring tokens.</summary>
public static class RingTokens
{
    /// <summary><paramref name="count"/> distinct uniform tokens from <paramref name="random"/>, ascending.</summary>
    public static ImmutableArray<ulong> Draw(DeterministicRandom random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MembershipLimits.MaxTokensPerMember);
        var tokens = new SortedSet<ulong>();
        while (tokens.Count < count)
        {
            tokens.Add(random.NextUInt64());
        }
        return [.. tokens];
    }
}
