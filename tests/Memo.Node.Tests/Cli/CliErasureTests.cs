using Memo.Cli;
using Memo.Node.Cluster;
using Memo.Node.Tests.ClusterData;
using Memo.Protocol.Blocks;
using Memo.Testing;

namespace Memo.Node.Tests.Cli;

/// <summary>
/// The CLI round trip on a network with erasure coding 4+2 (6 in-process nodes): <c>memo block put-immutable --file</c>
/// of a file above the threshold stores it as 6 fragments on 6 nodes, <c>memo block get</c> from another node returns
/// the same bytes, and <c>memo network show</c> prints the policy.
/// </summary>
public sealed class CliErasureTests
{
    [Fact]
    public async Task A_large_file_put_as_a_block_is_stored_as_fragments_and_read_back_identical_and_network_show_prints_the_policy()
    {
        await using var cluster = await InProcessCluster.StartAsync(6, ["memo.network.erasure = \"4+2\"", "memo.network.erasure-threshold = 16KiB"]);
        await ClusterDataTests.WaitAsync(cluster, n => n.All(s => s.View.Membership.MembersIn(MemberStatus.Up).Count() == 6), "6 nodes Up on every node");
        var content = new byte[300_000];
        new Random(13).NextBytes(content);
        var file = Path.Combine(Path.GetTempPath(), $"memo-erasure-{Guid.NewGuid():n}.bin");
        await File.WriteAllBytesAsync(file, content);
        try
        {
            var (put, putIo) = await RunAsync(["block", "put-immutable", "--file", file, "--node", cluster.Nodes[1].Address]);
            Assert.Equal(ExitCodes.Ok, put);
            var address = BlockAddress.Parse(putIo.Out.ToString().Trim());

            var fragments = 0;
            foreach (var slot in cluster.Running)
            {
                fragments += await slot.Running.Shards.Silo.ReadBlockFragmentAsync(address) is null ? 0 : 1;
                Assert.Null(await slot.Running.Shards.Silo.ReadBlockAsync(address));
            }
            Assert.Equal(6, fragments);

            var (get, getIo) = await RunAsync(["block", "get", address.ToString(), "--node", cluster.Nodes[4].Address]);
            Assert.Equal(ExitCodes.Ok, get);
            Assert.Equal(content, getIo.Stdout.ToArray());

            var (show, showIo) = await RunAsync(["network", "show", "--remote", cluster.Nodes[2].RemoteAddress, "--network", cluster.Network]);
            Assert.Equal(ExitCodes.Ok, show);
            Assert.Contains("erasure            4+2 (blocks above 16384 bytes)", showIo.Out.ToString(), StringComparison.Ordinal);
            var (json, jsonIo) = await RunAsync(["--json", "network", "show", "--remote", cluster.Nodes[2].RemoteAddress, "--network", cluster.Network]);
            Assert.Equal(ExitCodes.Ok, json);
            var text = jsonIo.Out.ToString().Replace(" ", "", StringComparison.Ordinal);
            Assert.Contains("\"erasure\":\"4+2\"", text, StringComparison.Ordinal);
            Assert.Contains("\"erasureThreshold\":16384", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<(int Code, FakeIo Io)> RunAsync(string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--timeout", "30s"]);
        return (code, io);
    }
}
