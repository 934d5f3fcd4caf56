using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// A scripted peer: serves Link, answers the hello it is told to (when the test opens <see cref="HelloGate"/>),
/// records every batch it receives, and can send batches back on the stream.
/// </summary>
internal sealed class FakePeerServer : PeerService.PeerServiceBase, IAsyncDisposable
{
    private LoopbackGrpcServer? _server;

    private FakePeerServer(PeerBatch hello, IReadOnlyList<PeerBatch> replies)
    {
        Hello = hello;
        Replies = replies;
    }

    public string Address => _server!.Address;

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
        var fake = new FakePeerServer(hello, replies ?? []);
        if (!holdHello)
        {
            fake.HelloGate.SetResult();
        }
        fake._server = await LoopbackGrpcServer.StartAsync(
            new IPEndPoint(IPAddress.Loopback, 0),
            (services, _) => services.AddSingleton(fake),
            app => app.MapGrpcService<FakePeerServer>(),
            new TestLoggerFactory(),
            TimeSpan.FromSeconds(1));
        return fake;
    }

    public override async Task Link(IAsyncStreamReader<PeerBatch> requestStream, IServerStreamWriter<PeerBatch> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var batch = requestStream.Current;
            if (batch.Hello is not null)
            {
                await HelloGate.Task.WaitAsync(context.CancellationToken);
                await responseStream.WriteAsync(Hello);
                foreach (var reply in Replies)
                {
                    await responseStream.WriteAsync(reply);
                }
                continue;
            }
            Received.Enqueue(batch);
            BatchArrived.Release();
        }
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

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
