using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// One peer of a <see cref="TcpPeerTransport"/>: its bounded queue, its counters, and, once this node sends to it, the
/// outbound connection this node dialled (hello exchanged, then batches only, in one direction).
/// </summary>
/// <remarks>
/// <para>States (<see cref="PeerLinkCounters.State"/>): Idle → Connecting (dial, TLS, hello) → Connected; a failed
/// attempt or a broken connection → Unreachable (queue dropped, every send dropped) until the backoff elapses → Idle,
/// and the next send dials again. Transitions happen under one lock; a connection attempt carries the generation it
/// was started for, so the result of an attempt that a move or a disposal overtook is discarded.</para>
/// <para>Writing with few thread hand-offs: a send enqueues, and if no drain is running, drains the queue and writes
/// the batch itself, on the caller's thread. A socket write that the kernel takes at once completes synchronously, so
/// the caller returns as soon as the bytes are in the socket buffer; a write that has to wait (the peer reads slowly)
/// returns to the caller at once and the rest of the drain continues on the completion's thread, taking everything
/// queued meanwhile into the next batch (coalescing under load). One drain at a time (<c>_draining</c>), so batches
/// are written in queue order.</para>
/// </remarks>
internal sealed class TcpPeerLink
{
    private readonly TcpPeerTransport _transport;
    private readonly Lock _lock = new();
    private readonly List<PeerMessage> _drained = [];
    private string? _address;
    private TcpPeerTransport.Connection? _connection;
    private int _generation;
    private int _failures;
    private int _draining;
    private bool _disposed;

    public TcpPeerLink(TcpPeerTransport transport, NodeId peer)
    {
        _transport = transport;
        Peer = peer;
        Counters = new PeerLinkCounters(peer);
        Queue = new PeerSendQueue(transport.Options.QueueCapacity, transport.Options.MaxQueuedBytes);
    }

    public NodeId Peer { get; }

    public PeerLinkCounters Counters { get; }

    public PeerSendQueue Queue { get; }

    /// <summary>Queues a message and gets it going; false (counted) when the peer is unreachable or the queue is full.</summary>
    public bool Send(string address, in PeerMessage message)
    {
        if (!string.Equals(Volatile.Read(ref _address), address, StringComparison.Ordinal))
        {
            MoveTo(address);
        }
        if (Counters.State == PeerLinkState.Unreachable)
        {
            Counters.AddDroppedUnreachable(1);
            return false;
        }
        if (!Queue.TryEnqueue(message))
        {
            Counters.AddDroppedQueueFull(1);
            return false;
        }
        switch (Counters.State)
        {
            case PeerLinkState.Connected:
                TryDrain();
                break;
            case PeerLinkState.Idle:
                Connect();
                break;
            // Connecting: the attempt drains once it is connected; Unreachable: the clear that follows the failure, or
            // the end of the backoff, handles what queued in between.
        }
        return true;
    }

    /// <summary>Records the address a peer that dialled this node announced, unless this node already sends to it.</summary>
    public void HeardAt(string address)
    {
        if (Volatile.Read(ref _address) is null)
        {
            Counters.Address = address;
        }
    }

    public PeerLinkStats Snapshot() => Counters.Snapshot(Queue.Count, Queue.Bytes);

    /// <summary>Closes the connection and drops the queue; the link is Idle and stays so.</summary>
    public void Dispose()
    {
        TcpPeerTransport.Connection? connection;
        lock (_lock)
        {
            _disposed = true;
            _generation++;
            connection = _connection;
            _connection = null;
            Counters.State = PeerLinkState.Idle;
        }
        connection?.Dispose();
        Queue.Clear();
        Counters.EndConnection();
    }

    private void MoveTo(string address)
    {
        TcpPeerTransport.Connection? moved;
        lock (_lock)
        {
            if (string.Equals(_address, address, StringComparison.Ordinal))
            {
                return;
            }
            bool first = _address is null;
            _address = address;
            Counters.Address = address;
            if (first || _disposed)
            {
                return;
            }
            // Whatever runs or waits for the old address is abandoned; the queue goes to the new one.
            _generation++;
            _failures = 0;
            moved = _connection;
            _connection = null;
            Counters.State = PeerLinkState.Idle;
        }
        moved?.Dispose();
        Counters.EndConnection();
    }

    private void Connect()
    {
        int generation;
        string address;
        lock (_lock)
        {
            if (_disposed || Counters.State != PeerLinkState.Idle || _address is null)
            {
                return;
            }
            Counters.State = PeerLinkState.Connecting;
            generation = ++_generation;
            address = _address;
        }
        _ = ConnectAsync(address, generation);
    }

    private async Task ConnectAsync(string address, int generation)
    {
        TcpPeerTransport.Connection? connection = null;
        string? error = null;
        try
        {
            connection = await _transport.DialAsync(Peer, address).ConfigureAwait(false);
        }
        catch (TcpPeerTransport.DialException e)
        {
            error = e.Message;
        }
        catch (ObjectDisposedException)
        {
            // The transport was disposed under the attempt; the generation check below discards it.
            error = "the transport is stopping";
        }
        lock (_lock)
        {
            if (generation != _generation || _disposed)
            {
                connection?.Dispose();
                return;
            }
            if (connection is null)
            {
                FailLocked(address, error ?? "unknown cause", broken: false);
                return;
            }
            _connection = connection;
            _failures = 0;
            Counters.State = PeerLinkState.Connected;
        }
        TcpPeerTransport.LogLinkUp(_transport.Logger, Peer, address, _transport.Tls is null ? "TCP" : "TCP+TLS");
        _ = WatchAsync(connection, address);
        TryDrain();
    }

    // The acceptor never writes after its hello answer, so a read returns only when the connection ends: that is how a
    // quiet link learns its peer went away (ConnectionLost) without waiting for its next write to fail.
    private async Task WatchAsync(TcpPeerTransport.Connection connection, string address)
    {
        string error;
        try
        {
            var one = new byte[1];
            int read = await connection.Stream.ReadAsync(one).ConfigureAwait(false);
            error = read == 0 ? "the peer closed the connection" : "the peer sent bytes on a connection it only reads";
        }
#pragma warning disable CA1031 // Whatever ends the read ends the connection; an exception left here would leave the link Connected.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = e.Message;
        }
        Break(connection, address, error);
    }

    private void Break(TcpPeerTransport.Connection connection, string address, string error)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_connection, connection))
            {
                // Already replaced, moved or disposed.
                connection.Dispose();
                return;
            }
            _connection = null;
            _generation++;
            connection.Dispose();
            TcpPeerTransport.LogLinkBroken(_transport.Logger, Peer, address, error);
            FailLocked(address, error, broken: true);
        }
    }

    // Under _lock.
    private void FailLocked(string address, string error, bool broken)
    {
        Counters.LastError = error;
        // Unreachable before clearing: a send that still saw Connecting or Connected may enqueue after the clear; the
        // end of the backoff finds its message and dials again.
        Counters.State = PeerLinkState.Unreachable;
        Counters.AddDroppedUnreachable(Queue.Clear());
        Counters.EndConnection();
        // A connection that was up resets the count: the peer was there a moment ago.
        _failures = broken ? 1 : Math.Min(_failures + 1, 1000);
        var backoff = _transport.Options.ReconnectBackoff(_failures, _transport.NextJitter());
        if (!broken)
        {
            if (_failures == 1)
            {
                TcpPeerTransport.LogLinkFailed(_transport.Logger, Peer, address, error, backoff);
            }
            else
            {
                TcpPeerTransport.LogLinkFailedAgain(_transport.Logger, Peer, address, _failures, error, backoff);
            }
        }
        int generation = _generation;
        _ = Task.Delay(backoff).ContinueWith(_ => BackoffElapsed(generation), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private void BackoffElapsed(int generation)
    {
        lock (_lock)
        {
            if (generation != _generation || _disposed || Counters.State != PeerLinkState.Unreachable)
            {
                return;
            }
            Counters.State = PeerLinkState.Idle;
        }
        if (Queue.Count > 0)
        {
            Connect();
        }
    }

    /// <summary>Drains and writes unless another drain runs; that one takes whatever this caller queued.</summary>
    private void TryDrain()
    {
        // A drain re-checks the queue after it lets go of the flag, so a message queued while the flag was held is
        // never stranded: either its sender takes the flag here, or the holder sees the message after releasing it.
        while (Counters.State == PeerLinkState.Connected && Queue.Count > 0 && Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            var drain = DrainAsync();
            if (!drain.IsCompleted)
            {
                return;
            }
        }
    }

    private async Task DrainAsync()
    {
        bool waited = false;
        TcpPeerTransport.Connection? connection = null;
        string? address = null;
        string? error = null;
        try
        {
            lock (_lock)
            {
                connection = _connection;
                address = _address;
            }
            while (connection is not null && Counters.State == PeerLinkState.Connected)
            {
                _drained.Clear();
                Queue.DrainInto(_drained, _transport.Options.MaxBatchMessages, _transport.Options.MaxBatchBytes);
                if (_drained.Count == 0)
                {
                    break;
                }
                var batch = new PeerBatch { Format = PeerWire.Format, FromNode = _transport.LocalNode.Value };
                foreach (var message in _drained)
                {
                    batch.Frames.Add(PeerWire.ToFrame(message));
                }
                Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.LinkFlush, _drained.Count);
                var (buffer, length) = TcpPeerFrames.Rent(batch);
                try
                {
                    var write = connection.Stream.WriteAsync(buffer.AsMemory(0, length));
                    if (!write.IsCompletedSuccessfully)
                    {
                        waited = true;
                        await write.ConfigureAwait(false);
                    }
                }
                finally
                {
                    TcpPeerFrames.Return(buffer);
                }
                Counters.AddSent(_drained.Count);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException or System.Net.Sockets.SocketException)
        {
            // The batch in the failed write is lost; the rest of the queue goes with the connection (Break).
            Counters.AddDroppedUnreachable(_drained.Count);
            error = e.Message;
        }
        finally
        {
            _drained.Clear();
            Volatile.Write(ref _draining, 0);
        }
        if (error is not null && connection is not null)
        {
            Break(connection, address ?? "?", "a write failed: " + error);
        }
        else if (waited)
        {
            // The caller that started this drain has returned; whoever found the flag held left its message to it.
            TryDrain();
        }
    }
}
