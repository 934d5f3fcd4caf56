using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Memo.Node.Transport.Wire;
using Memo.Protocol.Security;

namespace Memo.Node.Transport;

public sealed partial class TcpPeerTransport
{
    /// <summary>
    /// A connection a peer dialled to this node: its socket and stream, and, once the hello is answered, the thread
    /// that reads its batches. Read-only from this side after the answer.
    /// </summary>
    private sealed class Accepted(Socket socket, string remote)
    {
        private Thread? _reader;

        public Socket Socket { get; } = socket;

        /// <summary>The calling TCP endpoint, for logs.</summary>
        public string Remote { get; } = remote;

        public Stream? Stream { get; set; }

        public void Start(Thread reader)
        {
            reader.Start();
            _reader = reader;
        }

        /// <summary>Closes the connection: a read blocked on it fails at once.</summary>
        public void Close()
        {
            Socket.Dispose();
            Stream?.Dispose();
        }

        public void Join(TimeSpan timeout)
        {
            if (_reader is { } reader && reader != Thread.CurrentThread)
            {
                reader.Join(timeout);
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }
                // A connection that failed between the kernel's accept and ours (reset early): keep accepting.
                continue;
            }
            var remote = socket.RemoteEndPoint?.ToString() ?? "?";
            if (_accepted.Count >= _maxAccepted)
            {
                long refused = Interlocked.Increment(ref _refusedConnections);
                socket.Dispose();
                if (refused % 1000 == 1)
                {
                    LogConnectionRefused(Logger, remote, $"{_maxAccepted} peer connections are open", refused);
                }
                continue;
            }
            var accepted = new Accepted(socket, remote);
            _accepted[accepted] = 0;
            if (Volatile.Read(ref _disposed) != 0)
            {
                // Disposal may have walked the set before this one joined it.
                accepted.Close();
                _accepted.TryRemove(accepted, out _);
                return;
            }
            _ = HandshakeAsync(accepted);
        }
    }

    /// <summary>TLS when configured, the peer's hello checked and answered within <see cref="PeerTransportOptions.ConnectTimeout"/>;
    /// then the connection's read thread.</summary>
    private async Task HandshakeAsync(Accepted accepted)
    {
        var socket = accepted.Socket;
        socket.NoDelay = true;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(Options.ConnectTimeout);
        string? refusal = null;
        TcpPeerLink? link = null;
        try
        {
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            accepted.Stream = stream;
            MemoCertificateIdentity? certified = null;
            if (Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                accepted.Stream = stream = ssl;
                await ssl.AuthenticateAsServerAsync(tls.ServerOptions(reason => refusal = reason), timeout.Token).ConfigureAwait(false);
                certified = tls.Identify(ssl.RemoteCertificate, out var problem) ?? throw new AuthenticationException(problem);
            }
            var (hello, error) = await TcpPeerFrames.ReadAsync(stream, _frameLimit, timeout.Token).ConfigureAwait(false);
            if (hello is null)
            {
                Refuse(accepted, error!);
                return;
            }
            var check = PeerWire.CheckHello(hello, LocalNode, NetworkId, NodeId.None);
            if (!check.Accepted)
            {
                if (hello.Hello is { } theirs && !string.Equals(theirs.NetworkId, NetworkId, StringComparison.Ordinal))
                {
                    // A node of another network learns which network this is (its link reports the mismatch) instead
                    // of timing out; nothing else is said to it.
                    await TcpPeerFrames.WriteAsync(stream, Hello(), timeout.Token).ConfigureAwait(false);
                }
                Refuse(accepted, check.Error!);
                return;
            }
            if (certified is not null && certified.NodeId != check.Node.Value)
            {
                Refuse(accepted, $"the hello names node {check.Node} but the client certificate names node {new NodeId(certified.NodeId)}");
                return;
            }
            link = GetOrAddLink(check.Node);
            if (link is null)
            {
                Refuse(accepted, $"the limit of {Options.MaxPeers} peers is reached");
                return;
            }
            link.HeardAt(check.Address);
            await TcpPeerFrames.WriteAsync(stream, Hello(), timeout.Token).ConfigureAwait(false);
            link.Counters.InboundOpened();
            var reader = new Thread(() => ReadLoop(accepted, link, stream))
            {
                IsBackground = true,
                Name = $"memo-peer-read-{check.Node}",
            };
            accepted.Start(reader);
        }
#pragma warning disable CA1031 // Whatever fails a handshake closes that connection and nothing else.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var reason = e switch
            {
                OperationCanceledException when _stopping.IsCancellationRequested => null,
                OperationCanceledException => $"no hello within {Options.ConnectTimeout}",
                AuthenticationException when refusal is not null => "TLS refused: " + refusal,
                _ => e.Message,
            };
            if (reason is null)
            {
                Forget(accepted);
            }
            else
            {
                Refuse(accepted, reason);
            }
        }
    }

    /// <summary>Reads batches until the connection ends, in arrival order, on this connection's own thread.</summary>
    private void ReadLoop(Accepted accepted, TcpPeerLink link, Stream stream)
    {
        var peer = link.Peer;
        string? error = null;
        try
        {
            using var reader = new BufferedStream(stream, ReadBufferBytes);
            Span<byte> header = stackalloc byte[TcpPeerFrames.HeaderBytes];
            while (true)
            {
                if (!TcpPeerFrames.TryFill(reader, header))
                {
                    break;
                }
                if (TcpPeerFrames.CheckLength(header, _frameLimit, out int length) is { } tooLong)
                {
                    error = tooLong;
                    break;
                }
                var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
                PeerBatch? batch;
                try
                {
                    if (!TcpPeerFrames.TryFill(reader, buffer.AsSpan(0, length)))
                    {
                        error = "the connection closed in the middle of a frame";
                        break;
                    }
                    batch = TcpPeerFrames.Parse(buffer.AsSpan(0, length), out error);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                if (batch is null)
                {
                    break;
                }
                if (PeerWire.CheckBatch(batch, peer) is { } wrong)
                {
                    error = wrong;
                    break;
                }
                if (!Deliver(link, batch))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException or NotSupportedException)
        {
            // Closed under the read (disposal, a reset; a disposed stream says it "does not support reading"): the end
            // of the connection, not a protocol error.
        }
#pragma warning disable CA1031 // The last line of a thread of its own: anything else escaping would end the process.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = $"the read failed: {e.GetType().Name}: {e.Message}";
        }
        finally
        {
            link.Counters.InboundClosed();
        }
        if (error is not null && Volatile.Read(ref _disposed) == 0)
        {
            Refuse(accepted, $"node {peer}: {error}");
        }
        else
        {
            Forget(accepted);
        }
    }

    /// <summary>Hands one batch's frames to <see cref="Inbound"/>, waiting while it is full; false once the transport is disposed.</summary>
    private bool Deliver(TcpPeerLink link, PeerBatch batch)
    {
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.InboxReceive, batch.Frames.Count);
        var from = link.Peer;
        if (FaultInjector?.IsBlocked(from, LocalNode) == true)
        {
            return true;
        }
        int malformed = 0;
        foreach (var frame in batch.Frames)
        {
            if (!PeerWire.TryFromFrame(frame, Options.MaxMessageBytes, out var message))
            {
                malformed++;
                continue;
            }
            if (FaultInjector?.Loses(from, LocalNode, message.Channel) == true)
            {
                continue;
            }
            var inbound = new InboundPeerMessage(from, message);
            // Counted before the write: the consumer may run inside it (AllowSynchronousContinuations) and must see
            // the message counted.
            link.Counters.AddReceived(1);
            if (!_inbound.Writer.TryWrite(inbound))
            {
                try
                {
                    // A dedicated thread may wait: the socket stops being read, and TCP slows the sender down.
                    _inbound.Writer.WriteAsync(inbound, _stopping.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is OperationCanceledException or ChannelClosedException or ObjectDisposedException)
                {
                    link.Counters.AddReceived(-1);
                    return false;
                }
            }
        }
        if (malformed > 0)
        {
            link.Counters.AddMalformed(malformed);
            LogMalformedFrames(Logger, from, malformed);
        }
        return true;
    }

    private void Refuse(Accepted accepted, string reason)
    {
        Interlocked.Increment(ref _closedForErrors);
        LogConnectionClosed(Logger, accepted.Remote, reason);
        Forget(accepted);
    }

    private void Forget(Accepted accepted)
    {
        accepted.Close();
        _accepted.TryRemove(accepted, out _);
    }
}
