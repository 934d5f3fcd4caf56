using System.Net;
using System.Net.Sockets;
using Memo.Admin.Wire;
using Memo.Cli;
using Memo.Cli.Commands;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Cli;

/// <summary><c>memo doctor</c> against a healthy node, a node that is not a member, and nothing at all.</summary>
public sealed class DoctorTests(ITestOutputHelper output)
{
    private async Task<(int Code, string Out)> DoctorAsync(string node, string remote)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["doctor", "--node", node, "--remote", remote, "--timeout", "10s"]);
        output.WriteLine(io.Out.ToString() + io.Err);
        return (code, io.Out.ToString());
    }

    [Fact]
    public async Task A_healthy_node_passes_every_check()
    {
        // One node is a whole healthy network only with a replication factor of 1 (else doctor warns, rightly).
        await using var node = await TestNode.StartAsync(["memo.shards.count = 4", "memo.network.replication-factor = 1"]);
        await node.Node.Cluster.WaitForViewAsync(v => v.IsServing, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (node.Node.Shards.LeaderReport(new ShardId(3)) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var (code, text) = await DoctorAsync(node.Address, node.Node.RemoteAddress);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("OK    api       the gRPC API at " + node.Address + " answers (cleartext HTTP/2)", text, StringComparison.Ordinal);
        Assert.Contains("OK    versions", text, StringComparison.Ordinal);
        Assert.Contains("OK    members   all 1 members up and reachable", text, StringComparison.Ordinal);
        Assert.Contains("OK    shards    all 4 shards have a leader", text, StringComparison.Ordinal);
        Assert.EndsWith("doctor: all checks passed" + Environment.NewLine, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_that_never_joined_fails_with_a_fix_naming_its_seeds()
    {
        await using var node = await TestNode.StartAsync(["memo.shards.count = 4", $"memo.node.seeds = [\"127.0.0.1:{FreePort()}\"]"]);

        var (code, text) = await DoctorAsync(node.Address, node.Node.RemoteAddress);
        Assert.Equal(ExitCodes.Other, code);
        Assert.Contains("FAIL  serving", text, StringComparison.Ordinal);
        Assert.Contains("fix: check its --seed names a running member's remoting endpoint", text, StringComparison.Ordinal);
        Assert.Contains("doctor: ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_listening_is_unreachable_with_a_fix()
    {
        var (code, text) = await DoctorAsync($"127.0.0.1:{FreePort()}", $"127.0.0.1:{FreePort()}");
        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.Contains("FAIL  listening nothing answers at", text, StringComparison.Ordinal);
        Assert.Contains("fix: start the node, or point --node", text, StringComparison.Ordinal);
        Assert.Contains("FAIL  admin", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Findings_name_unreachable_members_and_leaderless_shards_with_fixes()
    {
        var show = new ShowResponse { SelfId = "a", SelfAddress = "h:1", Serving = true, Converged = true, NetworkName = "memo" };
        show.Members.Add(new MemberInfo { Id = "a", Address = "h:1", Status = MemberStatus.Up, Reachable = true });
        show.Members.Add(new MemberInfo { Id = "b", Address = "h:2", Status = MemberStatus.Up, Reachable = false });
        var findings = DoctorFindings.Cluster(show).ToList();
        var unreachable = Assert.Single(findings, f => f.Level == DoctorLevel.Fail);
        Assert.Equal("member b (h:2, up) is unreachable", unreachable.Message);
        Assert.EndsWith("memo cluster down b", unreachable.Fix, StringComparison.Ordinal);

        var shards = new ShardsResponse { ShardCount = 2, ReplicationFactor = 3, EffectiveReplicationFactor = 2 };
        shards.Shards.Add(new ShardInfo { Shard = 0, LeaderId = "a", UnderReplicated = true });
        shards.Shards.Add(new ShardInfo { Shard = 1, LeaderId = "" , UnderReplicated = true });
        var shardFindings = DoctorFindings.Shards(shards).ToList();
        Assert.Contains(shardFindings, f => f.Level == DoctorLevel.Fail && f.Message.StartsWith("1 of 2 shards have no known leader (1)", StringComparison.Ordinal));
        Assert.Contains(shardFindings, f => f.Level == DoctorLevel.Warn && f.Message.StartsWith("2 of 2 shards have fewer replicas", StringComparison.Ordinal));

        Assert.Equal(DoctorLevel.Ok, DoctorFindings.Versions("0.1.0+abc", "0.1.3+def").Level);
        Assert.Equal(DoctorLevel.Warn, DoctorFindings.Versions("0.2.0", "0.1.0").Level);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
