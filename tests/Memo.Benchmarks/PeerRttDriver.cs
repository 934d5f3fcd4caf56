using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Memo.Node;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Benchmarks;

/// <summary>
/// Serial round trips between two peer transports of one kind in one process over 127.0.0.1: node 1 sends one
/// message, node 2's echo loop sends it back as soon as it reads it, node 1 waits for the echo before the next. What
/// a Raft append and its answer cost in the transport alone (issue 11: two Akka.Remote trips were 360 µs of a
/// 3-node put's 885 µs).
/// </summary>
internal sealed class PeerRttDriver : IAsyncDisposable
{
    private readonly IPeerTransport _a;
    private readonly IPeerTransport _b;
    private readonly string _addressOfA;
    private readonly string _addressOfB;
    private readonly ActorSystem[] _systems;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _echo;

    private PeerRttDriver(IPeerTransport a, string addressOfA, IPeerTransport b, string addressOfB, ActorSystem[] systems)
    {
        (_a, _addressOfA, _b, _addressOfB, _systems) = (a, addressOfA, b, addressOfB, systems);
        _echo = Task.Run(EchoAsync);
    }

    /// <summary>Two <see cref="AkkaPeerTransport"/>s on their own ActorSystems.</summary>
    public static PeerRttDriver Akka()
    {
        var options = new PeerTransportOptions();
        var systemA = PeerStreamDriver.Create(options);
        var systemB = PeerStreamDriver.Create(options);
        var a = new AkkaPeerTransport(systemA, new NodeId(1), options, NullLoggerFactory.Instance);
        var b = new AkkaPeerTransport(systemB, new NodeId(2), options, NullLoggerFactory.Instance);
        return new PeerRttDriver(a, a.AdvertisedAddress, b, b.AdvertisedAddress, [systemA, systemB]);
    }

    /// <summary>Two <see cref="TcpPeerTransport"/>s (plain TCP).</summary>
    public static PeerRttDriver Tcp()
    {
        var options = new PeerTransportOptions();
        var a = new TcpPeerTransport(new NodeId(1), "bench", new IPEndPoint(IPAddress.Loopback, 0), null, options, NullLoggerFactory.Instance);
        var b = new TcpPeerTransport(new NodeId(2), "bench", new IPEndPoint(IPAddress.Loopback, 0), null, options, NullLoggerFactory.Instance);
        return new PeerRttDriver(a, a.AdvertisedAddress, b, b.AdvertisedAddress, []);
    }

    /// <summary>Runs <paramref name="count"/> round trips of <paramref name="bodyBytes"/>-byte Raft messages; returns p50 and p99 in µs.</summary>
    public async Task<(double P50, double P99)> RunAsync(int count, int bodyBytes)
    {
        var body = new byte[bodyBytes];
        var micros = new double[count];
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            if (!_a.Send(_b.LocalNode, _addressOfB, PeerMessage.Raft(new ShardId(i % 64), body)))
            {
                // The link is still coming up: wait a moment and count this trip again.
                await Task.Delay(10);
                i--;
                continue;
            }
            await _a.Inbound.ReadAsync(patience.Token);
            micros[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(micros);
        return (micros[count / 2], micros[(int)(count * 0.99)]);
    }

    private async Task EchoAsync()
    {
        try
        {
            while (await _b.Inbound.WaitToReadAsync(_stop.Token))
            {
                while (_b.Inbound.TryRead(out var message))
                {
                    _b.Send(message.From, _addressOfA, message.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _echo;
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await Task.WhenAll(_systems.Select(s => s.Terminate()));
        _stop.Dispose();
    }
}
