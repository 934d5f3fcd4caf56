using Memo.Node.Cluster;

namespace Memo.Node.Tests.Cluster;

/// <summary>Small builders shared by the cluster core tests.</summary>
internal static class ClusterFixtures
{
    public const int MaxMembers = 100;
    public const int VirtualNodes = 16;

    public static NodeId Id(int n) => new((ulong)n);

    public static string AddressOf(int n) => $"10.0.{n / 256}.{n % 256}:5090";

    /// <summary>Node n's joining record with tokens drawn from a PRNG seeded by n (and <paramref name="seed"/>).</summary>
    public static Member Joining(int n, ulong seed = 0, int tokens = VirtualNodes) =>
        Member.Joining(Id(n), AddressOf(n), RingTokens.Draw(new DeterministicRandom(seed * 1_000_003 + (ulong)n), tokens));

    /// <summary>A state in which the given nodes (the first one is the seed) are all Up and converged.</summary>
    public static MembershipState UpCluster(params int[] nodes)
    {
        var seed = Id(nodes[0]);
        var state = MembershipState.Empty.Join(seed, Joining(nodes[0]), MaxMembers);
        foreach (var n in nodes.Skip(1))
        {
            state = state.Join(seed, Joining(n), MaxMembers);
        }
        state = SeenByAll(state);
        state = state.LeaderActions(state.Leader);
        return SeenByAll(state);
    }

    /// <summary>Marks the state as seen by every live member (a single-copy stand-in for a gossip round).</summary>
    public static MembershipState SeenByAll(MembershipState state)
    {
        foreach (var member in state.Members.Values.Where(m => m.Status.IsLive()))
        {
            state = state.Seen(member.Id);
        }
        return state;
    }

    public static FailureDetectorOptions Detector(
        double threshold = 8,
        int maxSampleSize = 1000,
        int minStdDeviationMillis = 100,
        int acceptablePauseMillis = 0,
        int firstEstimateMillis = 1000) =>
        new(TimeSpan.FromSeconds(1), threshold, maxSampleSize, TimeSpan.FromMilliseconds(minStdDeviationMillis),
            TimeSpan.FromMilliseconds(acceptablePauseMillis), TimeSpan.FromMilliseconds(firstEstimateMillis));

    public static ClusterOptions Options() => new(VirtualNodes, MaxMembers, 0.8, Detector(acceptablePauseMillis: 3000));
}
