using System.Collections.Concurrent;
using System.Net;
using Memo.Node.Api.Grpc;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// A scripted peer: serves Link, answers the hello it is told to (when the test opens <see cref="HelloGate"/>),
/// records every batch it receives, and can send batches back on the stream.
/// </summary>
internal sealed class FakePeerServer : IAsyncDisposable
{
    private readonly GrpcServer _server;

    private FakePeerServer(GrpcServer server, PeerBatch hello, IReadOnlyList<PeerBatch> replies)
    {
        _server = server;
        Hello = hello;
        Replies = replies;
        var endpoint = server.BoundEndpoints[0];
        Address = $"{endpoint.Address}:{endpoint.Port}";
    }

    public string Address { get; }

    public PeerBatch Hello { get; }

    public IReadOnlyList<PeerBatch> Replies { get; }

    /// <summary>The hello is answered only once this completes (it starts completed unless asked otherwise).</summary>
    public TaskCompletionSource HelloGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every batch received after the hello, in order.</summary>
    public ConcurrentQueue<PeerBatch> Received { get; } = new();

    /// <summary>Signalled each time a batch is received.</summary>
    public SemaphoreSlim BatchArrived { get; } = new(0);

    public static async Task<FakePeerServer> StartAsync(PeerBatch hello, IReadOnlyList<PeerBatch>? replies = null, bool holdHello = false)
    {
        FakePeerServer? fake = null;
        var registry = new GrpcServiceRegistry();
        registry.AddDuplexStreaming(PeerWire.Link, async (requests, responses, context) =>
        {
            var self = fake!;
            await foreach (var batch in requests)
            {
                if (batch.Hello is not null)
                {
                    await self.HelloGate.Task.WaitAsync(context.CancellationToken);
                    await responses.WriteAsync(self.Hello);
                    foreach (var reply in self.Replies)
                    {
                        await responses.WriteAsync(reply);
                    }
                    continue;
                }
                self.Received.Enqueue(batch);
                self.BatchArrived.Release();
            }
        });
        var server = await GrpcServer.StartAsync(new GrpcServerOptions
        {
            Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            ShutdownGracePeriod = TimeSpan.FromSeconds(1),
        }, registry, new TestLoggerFactory(), CancellationToken.None);
        fake = new FakePeerServer(server, hello, replies ?? []);
        if (!holdHello)
        {
            fake.HelloGate.SetResult();
        }
        return fake;
    }

    /// <summary>Waits until <paramref name="count"/> batches have been received in all.</summary>
    public async Task WaitForBatchesAsync(int count, string expectation)
    {
        using var cts = new CancellationTokenSource(PeerTestKit.Patience);
        try
        {
            while (Received.Count < count)
            {
                await BatchArrived.WaitAsync(cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Timed out waiting for {count} batches ({expectation}); got {Received.Count}.");
        }
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();
}
