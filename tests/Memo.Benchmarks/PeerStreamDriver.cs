using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using Memo.Node;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Benchmarks;

/// <summary>
/// One-way stream between two <see cref="AkkaPeerTransport"/>s in one process over 127.0.0.1: how many frames per
/// second arrive, and how many frames the links coalesce per Akka message. The transport has no end-to-end flow
/// control (a full inbound channel drops at the receiver), so the producer keeps at most 4000 frames in flight
/// (sent and not yet consumed) and yields otherwise, as a window-based protocol would.
/// </summary>
internal sealed class PeerStreamDriver : IAsyncDisposable
{
    /// <summary>Frames in flight: below the sender's queue capacity (4096) and the receiver's inbound capacity (8192), so neither drops.</summary>
    private const int Window = 4000;

    private readonly ActorSystem _senderSystem;
    private readonly ActorSystem _receiverSystem;
    private readonly AkkaPeerTransport _sender;
    private readonly AkkaPeerTransport _receiver;

    public PeerStreamDriver()
    {
        var options = new PeerTransportOptions();
        _senderSystem = Create(options);
        _receiverSystem = Create(options);
        _sender = new AkkaPeerTransport(_senderSystem, new NodeId(1), options, NullLoggerFactory.Instance);
        _receiver = new AkkaPeerTransport(_receiverSystem, new NodeId(2), options, NullLoggerFactory.Instance);
    }

    /// <summary>Streams <paramref name="duration"/> worth of <paramref name="bodyBytes"/>-byte frames; returns frames received, and Sent / SentBatches.</summary>
    public async Task<(long Frames, double PerBatch, long Dropped)> StreamAsync(TimeSpan duration, int bodyBytes)
    {
        var before = _sender.GetLinkStats(_receiver.LocalNode);
        long droppedBefore = _receiver.GetLinkStats(_sender.LocalNode)?.DroppedInboundFull ?? 0;
        long received = 0;
        using var stop = new CancellationTokenSource();
        var consumer = Task.Run(async () =>
        {
            try
            {
                while (await _receiver.Inbound.WaitToReadAsync(stop.Token))
                {
                    while (_receiver.Inbound.TryRead(out _))
                    {
                        Interlocked.Increment(ref received);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var body = new byte[bodyBytes];
        var watch = Stopwatch.StartNew();
        long produced = 0;
        while (watch.Elapsed < duration)
        {
            if (produced - Interlocked.Read(ref received) > Window - 64)
            {
                Thread.Yield();
                continue;
            }
            for (int i = 0; i < 64; i++)
            {
                _sender.Send(_receiver.LocalNode, _receiver.AdvertisedAddress, PeerMessage.Raft(new ShardId(i), body));
            }
            produced += 64;
        }
        long frames = Interlocked.Read(ref received);
        watch.Stop();
        // Let the frames in flight arrive, so that the next run starts with an empty inbound channel.
        var drained = Stopwatch.StartNew();
        while (Interlocked.Read(ref received) < produced && drained.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }
        await stop.CancelAsync();
        await consumer;
        var after = _sender.GetLinkStats(_receiver.LocalNode)!;
        long sent = after.Sent - (before?.Sent ?? 0);
        long batches = after.SentBatches - (before?.SentBatches ?? 0);
        long dropped = after.Dropped - (before?.Dropped ?? 0) + (_receiver.GetLinkStats(_sender.LocalNode)?.DroppedInboundFull ?? 0) - droppedBefore;
        return ((long)(frames / watch.Elapsed.TotalSeconds), batches == 0 ? 0 : (double)sent / batches, dropped);
    }

    public async ValueTask DisposeAsync()
    {
        await _sender.DisposeAsync();
        await _receiver.DisposeAsync();
        await Task.WhenAll(_senderSystem.Terminate(), _receiverSystem.Terminate());
    }

    internal static ActorSystem Create(PeerTransportOptions options)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        probe.Dispose();
        return ActorSystem.Create("bench", ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              actor.provider = remote
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
            }
            """).WithFallback(AkkaPeerTransport.CreateConfig(options)));
    }
}
