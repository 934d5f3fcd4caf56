using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class PassportOptionsTests
{
    [Fact]
    public void By_default_a_network_has_no_owner_and_passports_follow_it()
    {
        var options = MemoOptions.Load(null, []);
        Assert.Equal("", options.Network.Owner);
        Assert.Equal(PassportRequirement.Auto, options.Security.RequirePassport);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Security.CallWindow);
        Assert.Equal(262_144, options.Security.MaxTrackedNonces);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Security.RevocationRefresh);
    }

    [Fact]
    public void Requiring_passports_without_an_owner_and_out_of_range_limits_are_refused_together()
    {
        var choice = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, ["memo.security.require-passport = maybe"]));
        Assert.Contains(choice.Problems, p => p.StartsWith("memo.security.require-passport", StringComparison.Ordinal) && p.Contains("auto, on, off", StringComparison.Ordinal));
        var e = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null,
            ["memo.security.require-passport = on", "memo.security.call-window = 0s", "memo.security.max-tracked-nonces = 10"]));
        Assert.Contains(e.Problems, p => p.Contains("needs the network owner's key", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("memo.security.call-window", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("memo.security.max-tracked-nonces", StringComparison.Ordinal));
        var noOwner = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, ["memo.security.require-passport = on"]));
        Assert.Contains(noOwner.Problems, p => p.Contains("needs the network owner's key (memo.network.owner)", StringComparison.Ordinal));
        Assert.Equal(PassportRequirement.On, MemoOptions.Load(null, ["memo.security.require-passport = on", "memo.network.owner = \"/o.pub\""]).Security.RequirePassport);
    }

    [Fact]
    public void Members_with_different_owners_are_different_networks_and_the_owner_role_round_trips()
    {
        using var owner = Memo.Protocol.Blocks.MemoKeyPair.Generate();
        using var other = Memo.Protocol.Blocks.MemoKeyPair.Generate();
        var timing = new RaftTiming(TimeSpan.FromMilliseconds(100), 10, true);
        MemberIdentity Of(Memo.Protocol.Blocks.MemoPublicKey? key) =>
            MemberIdentity.Of(new NodeId(7), "127.0.0.1:5000", [1UL], new NetworkParameters("memo", 4, 3, TimeSpan.FromMinutes(1), timing, Owner: key));
        var owned = Of(owner.PublicKey);
        Assert.True(MemberIdentity.TryParse(owned.ToRoles(), out var parsed, out var problem), problem);
        Assert.True(parsed.SameNetworkAs(owned));
        Assert.Equal(owned.Owner, parsed.Owner);
        Assert.False(owned.SameNetworkAs(Of(other.PublicKey)));
        Assert.False(owned.SameNetworkAs(Of(null)));
        Assert.True(Of(null).SameNetworkAs(Of(null)));
    }
}
