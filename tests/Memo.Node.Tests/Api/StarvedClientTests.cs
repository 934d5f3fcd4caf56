using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Api;

/// <summary>
/// A client that keeps many small unary calls in flight on one HTTP/2 connection while each call's request body ends a
/// little late, as a client process starved of CPU sends it (HEADERS, DATA and the closing empty DATA frame in
/// separate writes, a fraction of a second apart). Such a client moves few bytes but is not slow in any call.
/// </summary>
public sealed class StarvedClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BodyEndDelay = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task Small_calls_whose_bodies_end_late_keep_their_shared_connection()
    {
        // Grace period at its lower bound so the connection-wide average Kestrel used to apply (4 KiB/s) would have
        // judged this connection within the run.
        await using var cluster = await InProcessCluster.StartAsync(1, ["memo.grpc.min-request-data-rate-grace-period = 2s"]);
        await cluster.WaitUntilAsync(nodes => nodes.All(n => n.View.IsServing), "the node serving", TimeSpan.FromSeconds(60));
        using (var setup = new MemoClient(cluster.Nodes[0].Address))
        {
            await setup.UpsertAsync("k", Encoding.UTF8.GetBytes("v"));
        }

        using var client = new MemoClient(cluster.Nodes[0].Address, new MemoClientOptions
        {
            Timeout = TimeSpan.FromSeconds(60),
            Channel = new MemoChannelOptions
            {
                HttpMessageHandler = new LateBodyEndHandler(BodyEndDelay) { InnerHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false } },
                DisposeHttpMessageHandler = true,
            },
        });
        // 16 callers, each with one fetch in flight at a time: every moment some body on the connection is unfinished
        // and waits for data, while the bytes read stay near 16 x 4 calls/s x ~10 bytes a second.
        var failures = new ConcurrentQueue<string>();
        long calls = 0;
        var run = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (run.Elapsed < TimeSpan.FromSeconds(6))
            {
                try
                {
                    Assert.Equal("v", Encoding.UTF8.GetString((await client.FetchAsync("k"))!));
                    Interlocked.Increment(ref calls);
                }
                catch (GrpcException e)
                {
                    failures.Enqueue($"{run.Elapsed.TotalSeconds:F1} s: {e.Status}: {e.Message} ({e.InnerException?.Message})");
                }
            }
        })));

        output.WriteLine($"{calls} calls succeeded, {failures.Count} failed in {run.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.IsEmpty, $"{failures.Count} calls failed after {calls} succeeded:\n{string.Join("\n", failures.Take(10))}");
    }

    // Sends each request body as it comes, then holds the stream open for a while before its end (END_STREAM).
    private sealed class LateBodyEndHandler(TimeSpan delay) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is { } content)
            {
                request.Content = new LateEndContent(content, delay);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class LateEndContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly TimeSpan _delay;

        public LateEndContent(HttpContent inner, TimeSpan delay)
        {
            _inner = inner;
            _delay = delay;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await _inner.CopyToAsync(stream, context);
            await stream.FlushAsync();
            await Task.Delay(_delay);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
