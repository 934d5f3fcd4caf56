using Memo.Admin;

namespace Memo.Node.Tests.Admin;

public sealed class AdminEndpointTests
{
    [Theory]
    [InlineData("127.0.0.1:5091", "memo", "127.0.0.1", 5091, "akka.tcp://memo@127.0.0.1:5091/user/memo-admin")]
    [InlineData("node-3.example:6000", "prod_eu-1", "node-3.example", 6000, "akka.tcp://prod_eu-1@node-3.example:6000/user/memo-admin")]
    [InlineData("[::1]:5091", "memo", "::1", 5091, "akka.tcp://memo@[::1]:5091/user/memo-admin")]
    public void A_remoting_endpoint_and_a_network_name_give_the_admin_actors_path(string remote, string network, string host, int port, string path)
    {
        Assert.True(AdminEndpoint.TryParse(remote, network, out var endpoint, out var problem), problem);

        Assert.Equal(new AdminEndpoint(host, port, network), endpoint);
        Assert.Equal(path, endpoint.ActorPath);
        Assert.Equal(remote, endpoint.HostPort);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData(":5091")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:+5091")]
    [InlineData("::1:5091")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_but_host_colon_port_is_refused_with_the_expected_form(string? remote)
    {
        Assert.False(AdminEndpoint.TryParse(remote, "memo", out var endpoint, out var problem));

        Assert.Null(endpoint);
        Assert.Contains("is not host:port", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-memo")]
    [InlineData("me mo")]
    [InlineData("memo/1")]
    [InlineData(null)]
    public void A_name_Akka_would_not_take_as_a_system_name_is_refused(string? network)
    {
        Assert.False(AdminEndpoint.TryParse("127.0.0.1:5091", network, out _, out var problem));

        Assert.Contains("is not a network name", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("memo")]
    [InlineData("a")]
    [InlineData("0net_work-2")]
    [InlineData("")]
    [InlineData("_memo")]
    [InlineData("me.mo")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void The_network_name_rule_is_the_nodes(string name)
    {
        var validator = new Memo.Node.Configuration.OptionsValidator();
        new Memo.Node.Configuration.NetworkOptions(3, TimeSpan.FromSeconds(30), name).Validate(validator);

        Assert.Equal(validator.Problems.Count == 0, AdminEndpoint.IsValidNetworkName(name));
    }
}
