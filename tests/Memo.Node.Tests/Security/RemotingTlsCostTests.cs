using System.Diagnostics;
using System.Security.Cryptography;
using Memo.Protocol.Client;
using Memo.Protocol.Security;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Security;

/// <summary>
/// What mutual TLS on Akka remoting costs Raft: the same write load against an in-process 3-node cluster with
/// plaintext remoting and with TLS, every write acknowledged by a Raft majority over remoting. The rates are printed,
/// not asserted (a loaded 2-core box swings them); the test asserts that every write succeeded and reads back.
/// </summary>
public sealed class RemotingTlsCostTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Measured = TimeSpan.FromSeconds(5);
    private const int Concurrency = 32;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-tls-cost-" + Guid.NewGuid().ToString("n"));

    [Fact]
    public async Task Replicated_writes_run_over_plaintext_and_over_mutual_TLS_remoting()
    {
        // Order matters on a shared box (the first cluster pays the JIT): TLS first, then plaintext, then TLS again.
        var secureFirst = await MeasureAsync(tls: true, "a");
        var plain = await MeasureAsync(tls: false, "b");
        var secure = await MeasureAsync(tls: true, "c");
        // TLS turns passive connections off (two connections per node pair); the same without TLS separates the two.
        var plainTwoConnections = await MeasureAsync(tls: false, "d", "akka.remote.use-passive-connections = off");
        output.WriteLine($"  (first TLS run, JIT warm-up included: {secureFirst:0} ops/s)");
        output.WriteLine($"  plaintext remoting, passive connections off as with TLS: {plainTwoConnections:0} ops/s");
        output.WriteLine($"3 in-process nodes, {Concurrency} concurrent upserts of 256 bytes for {Measured.TotalSeconds:0} s through node 1 (SQLite synchronous = normal):");
        output.WriteLine($"  plaintext remoting: {plain:0} ops/s");
        output.WriteLine($"  mutual TLS remoting: {secure:0} ops/s ({secure / plain:P0} of plaintext)");
    }

    private async Task<double> MeasureAsync(bool tls, string run, params string[] extra)
    {
        var ca = Path.Combine(_root, run + "-ca");
        NetworkAuthority? authority = null;
        if (tls)
        {
            authority = NetworkAuthority.Create("memo", TimeSpan.FromDays(1));
            authority.Save(ca);
        }
        // synchronous = normal: fsyncs would otherwise bound the rate and hide what the transport costs.
        await using var cluster = await InProcessCluster.StartAsync(0, ["memo.raft.tick-interval = 20ms", "memo.storage.synchronous = normal", .. extra]);
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var data = Path.Combine(_root, $"{run}-node{i + 1}");
                string[] secure = [];
                if (authority is not null)
                {
                    Directory.CreateDirectory(data);
                    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                    PemFiles.WriteKey(Path.Combine(data, "node.key"), key);
                    using var certificate = authority.IssueNode(key, (ulong)(i + 1) * 0x1111, ["127.0.0.1"], TimeSpan.FromDays(1));
                    PemFiles.WriteCertificate(Path.Combine(data, "node.crt"), certificate);
                    secure = [$"memo.network.ca = \"{Path.Combine(ca, NetworkAuthority.CertificateFile)}\"", $"memo.node.certificate = \"{Path.Combine(data, "node.crt")}\""];
                }
                await cluster.AddNodeAsync(0, [$"memo.node.data-directory = \"{data}\"", .. secure]);
            }
            await cluster.WaitUntilAsync(nodes => nodes.All(n => n.View.IsServing && n.View.Membership.Members.Count == 3),
                "3 members serving", TimeSpan.FromSeconds(60));

            using var client = new MemoClient(cluster.Nodes[0].Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });
            var value = new byte[256];
            // Warm-up until every shard group has a leader and answers.
            for (var k = 0; k < 64; k++)
            {
                await RetryAsync(() => client.UpsertAsync($"warm/{k}", value));
            }
            long done = 0;
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async worker =>
            {
                for (var n = 0; stopwatch.Elapsed < Measured; n++)
                {
                    await client.UpsertAsync($"k/{worker}/{n}", value);
                    Interlocked.Increment(ref done);
                }
            }));
            var rate = done / stopwatch.Elapsed.TotalSeconds;
            Assert.Equal(value, await client.FetchAsync("k/0/0"));
            return rate;
        }
        finally
        {
            authority?.Dispose();
        }
    }

    private static async Task RetryAsync(Func<Task> write)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await write();
                return;
            }
            catch (Memo.Protocol.Grpc.GrpcException) when (DateTime.UtcNow < deadline)
            {
                // Polling pause while shard leaders are elected, not synchronisation: the write is retried.
                await Task.Delay(100);
            }
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
