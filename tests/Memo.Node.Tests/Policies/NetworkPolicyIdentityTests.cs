using System.Collections.Immutable;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Storage.Policies;

namespace Memo.Node.Tests.Policies;

/// <summary>The data policies travel with a member's identity roles, and members made for other policies are another network.</summary>
public sealed class NetworkPolicyIdentityTests
{
    private static MemberIdentity Identity(DataPolicies? policies) =>
        new(new NodeId(7), "127.0.0.1:5090", [1UL, 2UL], 64, 3, TimeSpan.FromMinutes(10), new RaftTiming(TimeSpan.FromMilliseconds(100), 10, true), policies);

    [Theory]
    [InlineData(ValueCompression.Off, false)]
    [InlineData(ValueCompression.Zstd, true)]
    [InlineData(ValueCompression.Brotli, false)]
    public void Policies_survive_the_roles_round_trip(ValueCompression compression, bool encrypt)
    {
        var identity = Identity(new DataPolicies(compression, encrypt));
        Assert.True(MemberIdentity.TryParse(identity.ToRoles(), out var parsed, out var problem), problem);
        Assert.Equal(identity.Policies, parsed.Policies);
        Assert.True(parsed.SameNetworkAs(identity));
    }

    [Fact]
    public void Members_with_other_policies_are_not_the_same_network_and_the_message_says_which()
    {
        var zstd = Identity(new DataPolicies(ValueCompression.Zstd, false));
        var encrypted = Identity(new DataPolicies(ValueCompression.Zstd, true));
        var brotli = Identity(new DataPolicies(ValueCompression.Brotli, false));
        Assert.False(zstd.SameNetworkAs(encrypted));
        Assert.False(zstd.SameNetworkAs(brotli));
        Assert.Contains("encrypt-at-rest on", encrypted.DescribeNetwork(), StringComparison.Ordinal);
        // A member whose roles predate policies carries none, and matches any (as for the Raft timing).
        var old = zstd with { Policies = null };
        Assert.True(MemberIdentity.TryParse(old.ToRoles(), out var parsedOld, out _));
        Assert.Null(parsedOld.Policies);
        Assert.True(parsedOld.SameNetworkAs(brotli));
    }

    [Fact]
    public void A_bad_policy_part_in_the_roles_is_refused()
    {
        var roles = Identity(new DataPolicies(ValueCompression.Zstd, false)).ToRoles()
            .Select(r => r.StartsWith("memo-net:", StringComparison.Ordinal) ? r[..r.LastIndexOf('/')] + "/7" : r).ToImmutableArray();
        Assert.False(MemberIdentity.TryParse(roles, out _, out var problem));
        Assert.Contains("bad network parameters", problem, StringComparison.Ordinal);
    }
}
