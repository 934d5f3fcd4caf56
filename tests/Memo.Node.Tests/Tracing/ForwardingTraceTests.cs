using System.Collections.Concurrent;
using System.Diagnostics;
using Memo.Node.Metrics;
using Memo.Protocol.Client;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Tracing;

/// <summary>A request that an API node forwards to a shard leader stays one trace: the gRPC request's span on the API
/// node, the forwarding span under it, and the leader's serving span under that, across the peer link.</summary>
public sealed class ForwardingTraceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_forwarded_write_continues_the_API_nodes_trace_on_the_leader()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is NodeTracing.SourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitUntilAsync(n => n.All(s => s.View.IsServing && s.View.Membership.Members.Count == 3)
                                          && Enumerable.Range(0, 4).All(shard => n[0].Running.Shards.LeaderReport(new ShardId(shard)) is not null),
            "3 members serving and every shard led", TimeSpan.FromSeconds(60));
        // Send through a node that does not lead shard 0: writes to that shard are forwarded to its leader.
        var leader = cluster.Nodes[0].Running.Shards.LeaderReport(new ShardId(0))!.Node;
        var entry = cluster.Nodes.First(s => s.Running.NodeId != leader);
        using (var client = new MemoClient(entry.Address))
        {
            for (var i = 0; i < 40; i++)
            {
                await client.UpsertAsync($"traced/{i}", new byte[] { (byte)i });
            }
        }

        var all = spans.ToList();
        var forwards = all.Where(a => a.Source.Name == NodeTracing.SourceName && a.Kind == ActivityKind.Client && a.OperationName == "memo.forward propose").ToList();
        var serves = all.Where(a => a.Source.Name == NodeTracing.SourceName && a.Kind == ActivityKind.Server && a.OperationName == "memo.serve propose").ToList();
        var requests = all.Where(a => a.Source.Name == "Microsoft.AspNetCore").ToList();
        output.WriteLine($"{requests.Count} request spans, {forwards.Count} forward spans, {serves.Count} serve spans");
        var joined = forwards.Where(f =>
                serves.Any(s => s.TraceId == f.TraceId && s.ParentSpanId == f.SpanId)
                && requests.Any(r => r.TraceId == f.TraceId && r.SpanId == f.ParentSpanId))
            .ToList();
        Assert.True(joined.Count > 0, $"no forwarded write whose leader span continues the API node's request trace ({forwards.Count} forwards, {serves.Count} serves)");
        var sample = joined[0];
        output.WriteLine($"trace {sample.TraceId}: request span {sample.ParentSpanId} -> forward {sample.SpanId} -> serve on the leader");
    }
}
