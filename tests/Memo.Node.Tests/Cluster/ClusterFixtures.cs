using Memo.Node.Cluster;

namespace Memo.Node.Tests.Cluster;

/// <summary>Small builders shared by the cluster core tests.</summary>
internal static class ClusterFixtures
{
    public const int VirtualNodes = 16;

    public static NodeId Id(int n) => new((ulong)n);

    public static string AddressOf(int n) => $"10.0.{n / 256}.{n % 256}:5090";

    /// <summary>Node n's joining record with tokens drawn from a PRNG seeded by n (and <paramref name="seed"/>).</summary>
    public static Member Joining(int n, ulong seed = 0, int tokens = VirtualNodes) =>
        Member.Joining(Id(n), AddressOf(n), RingTokens.Draw(new DeterministicRandom(seed * 1_000_003 + (ulong)n), tokens));

    /// <summary>Node n's record with status <paramref name="status"/> (tokens as <see cref="Joining"/>).</summary>
    public static Member WithStatus(int n, MemberStatus status) =>
        Member.Create(Id(n), AddressOf(n), status, status == MemberStatus.Joining ? 0 : n, Joining(n).Tokens, []);

    public static ClusterOptions Options() => new(VirtualNodes);
}
