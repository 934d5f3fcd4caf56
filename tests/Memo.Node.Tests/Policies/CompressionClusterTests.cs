using System.Text;
using Memo.Admin.Wire;
using Memo.Cli;
using Memo.Node.Tests.Cli;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Policies;

/// <summary>
/// A cluster whose network compresses stores compressible values in fewer bytes than one that does not (the shard
/// leaders' measured bytes: entries and Raft log rows), reads them back identical, and says so in <c>memo network show</c>.
/// </summary>
public sealed class CompressionClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Compressible_values_take_fewer_bytes_with_zstd_and_read_back_identical()
    {
        var values = Enumerable.Range(0, 30).Select(i => (Key: $"doc/{i:D2}", Value: JsonDocument(3_500, i))).ToArray();
        var off = await StoredBytesAsync(1, "off", values, cluster => Task.CompletedTask);
        var zstd = await StoredBytesAsync(3, "zstd", values, async cluster =>
        {
            var remote = cluster.Nodes[1].RemoteAddress;
            var (code, io) = await RunCliAsync(cluster, remote, "network", "show");
            output.WriteLine(io.Out.ToString());
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains("compression        zstd", io.Out.ToString(), StringComparison.Ordinal);
            Assert.Contains("encrypt at rest    off", io.Out.ToString(), StringComparison.Ordinal);
            Assert.Contains("replication factor 3", io.Out.ToString(), StringComparison.Ordinal);
            Assert.Contains("versions           1", io.Out.ToString(), StringComparison.Ordinal);
            var (jsonCode, json) = await RunCliAsync(cluster, remote, "network", "show", "--json");
            Assert.Equal(ExitCodes.Ok, jsonCode);
            var text = json.Out.ToString().Replace(" ", "", StringComparison.Ordinal);
            Assert.Contains("\"compression\":\"zstd\"", text, StringComparison.Ordinal);
            Assert.Contains("\"encryptAtRest\":false", text, StringComparison.Ordinal);
            Assert.Contains("\"versions\":1", text, StringComparison.Ordinal);

            // The data round trip through the CLI: a value rewritten from standard input with memo kv put and read back
            // with memo kv get, byte for byte, from another node (the key count stays the same for the byte sum below).
            var (key, value) = values[7];
            var put = new FakeIo(value);
            Assert.Equal(ExitCodes.Ok, await new MemoCli(put.Io).RunAsync(["kv", "put", key, "-", "--node", cluster.Nodes[0].Address, "--timeout", "30s"]));
            var get = new FakeIo();
            Assert.Equal(ExitCodes.Ok, await new MemoCli(get.Io).RunAsync(["kv", "get", key, "--node", cluster.Nodes[2].Address, "--timeout", "30s"]));
            Assert.Equal(value, get.Stdout.ToArray());
        });
        var raw = values.Sum(v => (long)v.Value.Length);
        output.WriteLine($"30 JSON values, {raw:N0} bytes: one replica stores {off:N0} bytes uncompressed, {zstd:N0} with zstd ({off / (double)zstd:N2}x)");
        Assert.True(off >= raw, $"uncompressed, a replica stores at least the values ({off} < {raw})");
        Assert.True(zstd * 2 < off, $"zstd stores {zstd} bytes, not under half of {off}");
    }

    private async Task<long> StoredBytesAsync(int nodes, string compression, (string Key, byte[] Value)[] values, Func<InProcessCluster, Task> alsoCheck)
    {
        await using var cluster = await InProcessCluster.StartAsync(nodes, [$"memo.network.compression = {compression}", "memo.shards.usage-interval = 200ms"]);
        await cluster.WaitUntilAsync(n => n.All(s => s.View.IsConverged && s.View.Membership.MembersIn(Memo.Node.Cluster.MemberStatus.Up).Count() == nodes
                && Enumerable.Range(0, s.View.Network.ShardCount).All(i => s.Running.Shards.TryGetReplica(new ShardId(i), out _))),
            $"{nodes} nodes Up, each hosting every shard", Phase);
        using (var client = new Memo.Protocol.Client.MemoClient(cluster.Nodes[0].Address))
        {
            foreach (var (key, value) in values)
            {
                await client.UpsertAsync(key, value);
            }
            foreach (var (key, value) in values)
            {
                Assert.Equal(value, await client.FetchAsync(key));
            }
        }
        await alsoCheck(cluster);
        await using var admin = TestAdmin.Connect(cluster.Nodes[0].RemoteAddress, network: cluster.Network);
        ShardsResponse shards;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        do
        {
            await Task.Delay(100);
            shards = await admin.ShardsAsync();
        }
        while (shards.Shards.Aggregate(0UL, (sum, s) => sum + s.Keys) != (ulong)values.Length && DateTime.UtcNow < deadline);
        Assert.Equal((ulong)values.Length, shards.Shards.Aggregate(0UL, (sum, s) => sum + s.Keys));
        return shards.Shards.Sum(s => (long)s.Bytes);
    }

    private static async Task<(int Code, FakeIo Io)> RunCliAsync(InProcessCluster cluster, string remote, params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--remote", remote, "--network", cluster.Network, "--timeout", "10s"]);
        return (code, io);
    }

    // JSON records as an application stores them: repeated field names, ids, dates.
    private static byte[] JsonDocument(int bytes, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("[");
        while (text.Length < bytes)
        {
            var id = random.Next(100_000);
            text.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"{{\"id\":{id},\"name\":\"user-{id}\",\"email\":\"user{id}@example.com\",\"active\":true,\"created\":\"2026-0{1 + random.Next(9)}-1{random.Next(10)}\"}},");
        }
        return Encoding.UTF8.GetBytes(text.ToString(0, bytes - 1) + "]");
    }
}
