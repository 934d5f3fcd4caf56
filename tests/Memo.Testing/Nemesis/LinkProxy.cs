using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Memo.Testing.Nemesis;

/// <summary>
/// A TCP proxy in front of one of a node's ports between nodes: its Akka remoting port or its TCP peer port. The node
/// advertises the proxy's port (<c>akka.remote.dot-netty.tcp.public-port</c>, <c>memo.node.peer-advertise</c>) and
/// binds another, so every peer dials the proxy. Each accepted
/// connection is attributed to the node that dialled it (<see cref="SocketOwners"/>), so both directions of its bytes
/// have a known sender and receiver, and <see cref="LinkFaults"/> decides, chunk by chunk, what happens to them:
/// held while cut, delayed, stalled. See <see cref="LinkFault"/> for why bytes are never dropped or duplicated inside
/// a stream. The proxy outlives the node's restarts: a restarted node binds the same port behind it.
/// </summary>
public sealed class LinkProxy : IAsyncDisposable
{
    private const int ChunkBytes = 64 * 1024;

    private readonly int _node;
    private readonly int _targetPort;
    private readonly LinkFaults _faults;
    private readonly Func<int, int> _nodeOfProcess;
    private readonly Func<IReadOnlyCollection<int>> _processes;
    private readonly Random _random;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Connection, byte> _connections = new();
    private readonly ConcurrentDictionary<int, (TimeSpan Hold, bool Reset)> _handshakeTraps = new();
    private readonly Task _accepting;
    private long _accepted;
    private long _unattributed;
    private long _resets;
    private long _stalls;
    private long _bytes;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="listenPort"/>, forwarding to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    /// <param name="node">Index of the node behind the proxy.</param>
    /// <param name="listenPort">The port the node advertises.</param>
    /// <param name="targetPort">The port the node binds.</param>
    /// <param name="faults">The link faults in force, shared by all proxies.</param>
    /// <param name="nodeOfProcess">The node index of a process id, -1 for any other process.</param>
    /// <param name="processes">The node processes running now (whose sockets may have dialled).</param>
    /// <param name="seed">Seeds jitter and stalls.</param>
    public LinkProxy(int node, int listenPort, int targetPort, LinkFaults faults, Func<int, int> nodeOfProcess, Func<IReadOnlyCollection<int>> processes, int seed)
    {
        _node = node;
        _targetPort = targetPort;
        _faults = faults;
        _nodeOfProcess = nodeOfProcess;
        _processes = processes;
        _random = new Random(seed);
        _listener = new TcpListener(IPAddress.Loopback, listenPort);
        _listener.Start(256);
        _accepting = AcceptAsync();
    }

    /// <summary>host:port peers dial.</summary>
    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Connections accepted, not attributed to a node (never faulted), reset by <see cref="Reset"/>, chunks
    /// stalled, bytes forwarded.</summary>
    public (long Accepted, long Unattributed, long Resets, long Stalls, long Bytes) Counts =>
        (Interlocked.Read(ref _accepted), Interlocked.Read(ref _unattributed), Interlocked.Read(ref _resets), Interlocked.Read(ref _stalls), Interlocked.Read(ref _bytes));

    /// <summary>Resets (RST) every open connection between this node and <paramref name="peer"/> (any peer when null):
    /// whatever was in flight on them is lost. Returns how many were reset.</summary>
    public int Reset(int? peer = null)
    {
        var count = 0;
        foreach (var connection in _connections.Keys.Where(c => c.Dialler >= 0 && (peer is null || c.Dialler == peer)))
        {
            connection.Abort();
            count++;
        }
        Interlocked.Add(ref _resets, count);
        return count;
    }

    /// <summary>
    /// Arms a one-shot trap for the next connection <paramref name="dialler"/> opens to this node: its first bytes (an
    /// Akka association request) are held for <paramref name="holdFirst"/>, then delivered; with
    /// <paramref name="resetOnAnswer"/>, the connection is reset the moment this node's first answer comes back, which
    /// the dialler never sees. This node has then accepted an association the dialler saw fail mid-handshake: the race
    /// a reset of both sides of a pair can land in by chance.
    /// </summary>
    public void ArmHandshakeTrap(int dialler, TimeSpan holdFirst, bool resetOnAnswer) => _handshakeTraps[dialler] = (holdFirst, resetOnAnswer);

    /// <summary>True while a trap armed by <see cref="ArmHandshakeTrap"/> waits for its connection.</summary>
    public bool HandshakeTrapArmed(int dialler) => _handshakeTraps.ContainsKey(dialler);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            Interlocked.Increment(ref _accepted);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        var clientPort = ((IPEndPoint)client.RemoteEndPoint!).Port;
        var pid = SocketOwners.FindDialler(clientPort, ((IPEndPoint)_listener.LocalEndpoint).Port, _processes());
        var dialler = pid is { } p ? _nodeOfProcess(p) : -1;
        if (dialler < 0)
        {
            Interlocked.Increment(ref _unattributed);
        }
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // The node is down: the dialler sees its connection closed, as it would a refused one.
            Abort(client);
            server.Dispose();
            return;
        }
        var connection = new Connection(dialler, client, server);
        _connections[connection] = 0;
        (TimeSpan Hold, bool Reset) trap = default;
        var trapped = dialler >= 0 && _handshakeTraps.TryRemove(dialler, out trap);
        try
        {
            await Task.WhenAll(
                PumpAsync(client, server, dialler, _node, trapped ? trap.Hold : null),
                PumpAsync(server, client, _node, dialler, trapped && trap.Reset ? TimeSpan.MinValue : null)).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            connection.Close();
        }
    }

    // One direction: a reader keeps taking chunks (so the sender is not slowed by our delays) into a bounded queue,
    // and a writer delivers each at its time, in order, holding them while the link is cut.
    // trap (see ArmHandshakeTrap): on the dialler's direction, how long its first chunk is held; on the answering
    // direction, TimeSpan.MinValue: the first chunk resets the connection instead of being delivered.
    private async Task PumpAsync(Socket from, Socket to, int sender, int receiver, TimeSpan? trap = null)
    {
        var queue = Channel.CreateBounded<(byte[] Chunk, long Arrived)>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
        var reading = Task.Run(async () =>
        {
            try
            {
                var buffer = new byte[ChunkBytes];
                while (true)
                {
                    var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                    await queue.Writer.WriteAsync((buffer.AsSpan(0, read).ToArray(), Stopwatch.GetTimestamp()), _stop.Token).ConfigureAwait(false);
                }
                queue.Writer.TryComplete();
            }
            catch (ChannelClosedException)
            {
                // The writer gave up on this direction first.
            }
            catch (Exception e)
            {
                queue.Writer.TryComplete(e);
            }
        });
        try
        {
            var last = 0L;
            await foreach (var (chunk, arrived) in queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var fault = _faults.Get(sender, receiver);
                while (fault.Cut)
                {
                    // Held, as TCP holds unacknowledged segments through a partition; re-read at the proxy's pace.
                    await Task.Delay(10, _stop.Token).ConfigureAwait(false);
                    fault = _faults.Get(sender, receiver);
                }
                var delay = fault.Delay;
                if (trap == TimeSpan.MinValue)
                {
                    Interlocked.Increment(ref _resets);
                    throw new SocketException((int)SocketError.ConnectionReset);
                }
                if (trap is { } holdFirst)
                {
                    delay += holdFirst;
                    trap = null;
                }
                lock (_random)
                {
                    delay += fault.Jitter * _random.NextDouble();
                    if (fault.StallChance > 0 && _random.NextDouble() < fault.StallChance)
                    {
                        delay += fault.Stall;
                        Interlocked.Increment(ref _stalls);
                    }
                }
                var due = Math.Max(last, arrived + (long)(delay.TotalSeconds * Stopwatch.Frequency));
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _stop.Token).ConfigureAwait(false);
                }
                last = due;
                await to.SendAsync(chunk, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                Interlocked.Add(ref _bytes, chunk.Length);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or ChannelClosedException)
        {
            // Either side went away (a kill, a reset, the proxy stopping): end both directions, and release a reader
            // waiting for room in the queue nobody will drain now.
            Abort(from);
            Abort(to);
            queue.Writer.TryComplete();
        }
        try
        {
            await reading.ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Already ended above.
        }
    }

    private static void Abort(Socket socket)
    {
        try
        {
            // Linger 0: close sends RST, so the peer sees the connection fail rather than end cleanly.
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }

    private sealed class Connection(int dialler, Socket client, Socket server)
    {
        public int Dialler { get; } = dialler;

        public void Abort()
        {
            LinkProxy.Abort(client);
            LinkProxy.Abort(server);
        }

        public void Close()
        {
            client.Dispose();
            server.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
