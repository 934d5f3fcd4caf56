using Memo.Cli;
using Memo.Node.Cluster;
using Memo.Node.Tests.Cli;
using Memo.Testing;

namespace Memo.Node.Tests.ClusterRuntime;

/// <summary><c>memo cluster ...</c> run in-process against an in-process cluster, over Akka remoting (<c>--remote</c>).</summary>
public sealed class ClusterCliTests
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(20);

    private static async Task<(int Code, FakeIo Io)> RunAsync(InProcessCluster cluster, string remote, params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--remote", remote, "--network", cluster.Network, "--timeout", "10s"]);
        return (code, io);
    }

    [Fact]
    public async Task Cluster_show_prints_every_member_and_the_leader_and_down_removes_one()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, ["memo.network.eviction-delay = 1h"]);
        await cluster.WaitUntilAsync(n => n.All(s => s.View.IsConverged && s.View.Membership.MembersIn(MemberStatus.Up).Count() == 3),
            "3 nodes Up", Phase);
        var node1 = cluster.Nodes[0].RemoteAddress;

        var (code, io) = await RunAsync(cluster, node1, "cluster", "show");
        Assert.Equal(ExitCodes.Ok, code);
        var text = io.Out.ToString();
        foreach (var slot in cluster.Nodes)
        {
            Assert.Contains(slot.View.Self.ToString(), text, StringComparison.Ordinal);
            Assert.Contains(slot.Address, text, StringComparison.Ordinal);
        }
        Assert.Equal(3, text.Split('\n').Count(line => line.Contains(" up ", StringComparison.Ordinal)));

        var (jsonCode, json) = await RunAsync(cluster, node1, "cluster", "show", "--json");
        Assert.Equal(ExitCodes.Ok, jsonCode);
        Assert.Contains($"\"leader\":\"{cluster.Nodes[0].View.Leader}\"", json.Out.ToString(), StringComparison.Ordinal);

        var victim = cluster.Nodes[2].View.Self;
        await cluster.StopAsync(2);
        var (downCode, down) = await RunAsync(cluster, node1, "cluster", "down", cluster.Nodes[2].Address);
        Assert.Equal(ExitCodes.Ok, downCode);
        Assert.Contains(victim.ToString(), down.Out.ToString(), StringComparison.Ordinal);
        await cluster.WaitUntilAsync(n => n.All(s => s.View.Membership.StatusOf(victim) is null or MemberStatus.Removed), "the downed node Removed", Phase);

        var (missingCode, _) = await RunAsync(cluster, node1, "cluster", "down", "0000000000000001");
        Assert.Equal(ExitCodes.NotFound, missingCode);

        var (shardsCode, shards) = await RunAsync(cluster, node1, "cluster", "shards", "--json");
        Assert.Equal(ExitCodes.Ok, shardsCode);
        Assert.Contains("\"shardCount\":4", shards.Out.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("akka")]
    [InlineData("tcp")]
    public async Task Cluster_show_json_lists_each_members_roles_with_its_remoting_address_and_on_tcp_its_peer_address(string transport)
    {
        await using var cluster = await InProcessCluster.StartAsync(2, [$"memo.peer.transport = {transport}"]);
        await cluster.WaitUntilAsync(n => n.All(s => s.View.IsConverged && s.View.Membership.MembersIn(MemberStatus.Up).Count() == 2),
            "2 nodes Up", Phase);

        var (code, io) = await RunAsync(cluster, cluster.Nodes[0].RemoteAddress, "cluster", "show", "--json");

        Assert.Equal(ExitCodes.Ok, code);
        using var json = System.Text.Json.JsonDocument.Parse(io.Out.ToString());
        var roles = json.RootElement.GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()).Order(StringComparer.Ordinal).ToList());
        foreach (var slot in cluster.Nodes)
        {
            // On Akka remoting a member has no peer port; on TCP it announces the one its listener bound.
            string[] expected = transport == "tcp"
                ? [$"peer={slot.Running.PeerAddress ?? throw new InvalidOperationException($"node {slot.Index} on tcp has no peer address")}", $"remote={slot.Running.RemoteAddress}"]
                : [$"remote={slot.Running.RemoteAddress}"];
            Assert.Equal(expected, roles[slot.View.Self.ToString()]);
        }
    }
}
