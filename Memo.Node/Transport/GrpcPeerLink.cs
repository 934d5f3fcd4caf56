using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// The actor that owns this node's outbound stream to one peer: a bounded queue filled by
/// <see cref="Send"/> and one loop that connects lazily, drains the queue into batches and writes them.
/// Everything but the queue and the counters is touched only by the loop.
/// </summary>
/// <remarks>
/// The stream is a <c>PeerService.Link</c> call of the generated client over a Grpc.Net.Client channel, one
/// channel (one HTTP/2 connection) per peer address.
/// </remarks>
/// <remarks>
/// Loss policy: a failed connection attempt drops what is queued and every message sent until the backoff
/// elapses (state <see cref="PeerLinkState.Unreachable"/>); a failed write drops its batch. After a stream
/// breaks, the next message reconnects at once; only failed attempts back off. Nothing is ever resent.
/// </remarks>
internal sealed class GrpcPeerLink : IAsyncDisposable
{
    private readonly GrpcPeerTransport _owner;
    private readonly PeerTransportOptions _options;
    private readonly PeerSendQueue _queue;
    private readonly Task _loop;
    private volatile string _address;

    // Loop state.
    private GrpcChannel? _channel;
    private string? _channelAddress;
    private Connection? _connection;
    private int _failures;

    public GrpcPeerLink(GrpcPeerTransport owner, NodeId peer, string address)
    {
        _owner = owner;
        _options = owner.Options;
        Peer = peer;
        _address = address;
        Counters = new PeerLinkCounters(peer) { Address = address };
        _queue = new PeerSendQueue(_options.QueueCapacity, _options.MaxQueuedBytes);
        _loop = Task.Run(RunAsync);
    }

    public NodeId Peer { get; }

    public PeerLinkCounters Counters { get; }

    /// <summary>Queues a message (never waits); drops and counts it when the queue is full or the peer unreachable.</summary>
    public void Send(string address, in PeerMessage message)
    {
        if (!string.Equals(_address, address, StringComparison.Ordinal))
        {
            // The loop moves the stream to the new address before its next write.
            _address = address;
            Counters.Address = address;
        }
        if (Counters.State == PeerLinkState.Unreachable)
        {
            Counters.AddDroppedUnreachable(1);
            return;
        }
        if (!_queue.TryEnqueue(message))
        {
            Counters.AddDroppedQueueFull(1);
        }
    }

    public PeerLinkStats Snapshot() => Counters.Snapshot(_queue.Count, _queue.Bytes);

    /// <summary>Stops the loop (the owner has cancelled its stopping token) and closes the stream.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Complete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var token = _owner.Stopping;
        var messages = new List<PeerMessage>();
        try
        {
            while (await _queue.WaitToReadAsync(token).ConfigureAwait(false))
            {
                if (_connection is { } current && (current.Broken || !string.Equals(current.Address, _address, StringComparison.Ordinal)))
                {
                    await CloseConnectionAsync().ConfigureAwait(false);
                }
                if (_connection is null && !await ConnectAsync(token).ConfigureAwait(false))
                {
                    continue;
                }
                messages.Clear();
                _queue.DrainInto(messages, _options.MaxBatchMessages, _options.MaxBatchBytes);
                if (messages.Count == 0)
                {
                    continue;
                }
                var batch = new PeerBatch { Format = PeerWire.Format, FromNode = _owner.LocalNode.Value };
                foreach (var message in messages)
                {
                    batch.Frames.Add(PeerWire.ToFrame(message));
                }
                var connection = _connection!;
                try
                {
                    await connection.Call.RequestStream.WriteAsync(batch, token).ConfigureAwait(false);
                    Counters.AddSent(messages.Count);
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    Counters.AddDroppedUnreachable(messages.Count);
                    connection.Fail(Describe(e));
                }
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Stopping: a cancelled wait, or a write or connect cut short (an RpcException with status Cancelled).
        }
        finally
        {
            await CloseConnectionAsync().ConfigureAwait(false);
            _channel?.Dispose();
            _queue.Clear();
            Counters.State = PeerLinkState.Idle;
        }
    }

    /// <summary>Opens the stream and exchanges hellos; on failure drops the queue and waits out the backoff. True when connected.</summary>
    private async Task<bool> ConnectAsync(CancellationToken token)
    {
        var address = _address;
        Counters.State = PeerLinkState.Connecting;
        try
        {
            if (_channel is null || !string.Equals(_channelAddress, address, StringComparison.Ordinal))
            {
                _channel?.Dispose();
                _channel = null;
                _channel = CreateChannel(address);
                _channelAddress = address;
            }
            _connection = await OpenAsync(_channel, address, token).ConfigureAwait(false);
        }
        catch (Exception e) when (!token.IsCancellationRequested)
        {
            var error = Describe(e);
            Counters.LastError = error;
            // Unreachable before clearing: a Send that still saw Connecting may enqueue after the clear; that
            // message waits out the backoff and triggers the next attempt.
            Counters.State = PeerLinkState.Unreachable;
            Counters.AddDroppedUnreachable(_queue.Clear());
            _failures = Math.Min(_failures + 1, 1000);
            var backoff = Backoff(_failures);
            if (_failures == 1)
            {
                GrpcPeerTransport.LogLinkFailed(_owner.Logger, Peer, address, error, backoff);
            }
            else
            {
                GrpcPeerTransport.LogLinkFailedAgain(_owner.Logger, Peer, address, _failures, error, backoff);
            }
            await Task.Delay(backoff, token).ConfigureAwait(false);
            Counters.TryMove(PeerLinkState.Unreachable, PeerLinkState.Idle);
            return false;
        }
        _failures = 0;
        Counters.State = PeerLinkState.Connected;
        GrpcPeerTransport.LogLinkUp(_owner.Logger, Peer, address);
        return true;
    }

    private GrpcChannel CreateChannel(string address) =>
        GrpcChannel.ForAddress(ChannelAddress(address), new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = _options.ConnectTimeout,
                KeepAlivePingDelay = _options.KeepAlivePingDelay,
                KeepAlivePingTimeout = _options.KeepAlivePingTimeout,
                // The link is one long-lived stream: pings while it is open find a peer that vanished without a FIN.
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                EnableMultipleHttp2Connections = false,
                // Peer addresses are cluster-internal: an HTTP proxy from the environment must not get in between.
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                // No W3C trace headers on the link.
                ActivityHeadersPropagator = null,
            },
            DisposeHttpClient = true,
            MaxSendMessageSize = _options.MaxBatchWireBytes,
            MaxReceiveMessageSize = _options.MaxBatchWireBytes,
        });

    /// <summary>The channel address for a peer's <c>host:port</c>: cleartext HTTP/2 (h2c) unless a scheme is given.</summary>
    internal static string ChannelAddress(string address) =>
        address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;

    private async Task<Connection> OpenAsync(GrpcChannel channel, string address, CancellationToken token)
    {
        var call = new PeerService.PeerServiceClient(channel).Link(cancellationToken: token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        try
        {
            timeout.CancelAfter(_options.ConnectTimeout);
            // Grpc.Net.Client cancels the whole call when the timer fires during the write or the read; the call
            // is disposed below in any case.
            await call.RequestStream.WriteAsync(PeerWire.Hello(_owner.LocalNode, _owner.AdvertisedAddress, _owner.NetworkId), timeout.Token).ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(timeout.Token).ConfigureAwait(false))
            {
                throw new PeerLinkRefusedException($"{address} ended the link without answering the hello");
            }
            var check = PeerWire.CheckHello(call.ResponseStream.Current, _owner.LocalNode, _owner.NetworkId, Peer);
            if (!check.Accepted)
            {
                throw new PeerLinkRefusedException(check.Error!);
            }
            var connection = new Connection(this, call, address);
            connection.Reader = ReadAsync(connection, call.ResponseStream, token);
            return connection;
        }
        catch (Exception e) when (timeout.IsCancellationRequested && !token.IsCancellationRequested)
        {
            call.Dispose();
            throw new TimeoutException($"connecting to {address} and exchanging hellos took over {_options.ConnectTimeout}", e);
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    /// <summary>Reads what the peer sends back on our stream (frames are accepted on both directions) until it ends.</summary>
    private async Task ReadAsync(Connection connection, IAsyncStreamReader<PeerBatch> responses, CancellationToken token)
    {
        try
        {
            while (await responses.MoveNext(token).ConfigureAwait(false))
            {
                var batch = responses.Current;
                if (PeerWire.CheckBatch(batch, Peer) is { } error)
                {
                    connection.Fail(error);
                    return;
                }
                await _owner.AcceptFramesAsync(this, batch.Frames, token).ConfigureAwait(false);
            }
            connection.Fail("the peer ended the link");
        }
        catch (Exception e)
        {
            connection.Fail(token.IsCancellationRequested ? "this node is stopping" : Describe(e));
        }
    }

    private async Task CloseConnectionAsync()
    {
        if (_connection is not { } connection)
        {
            return;
        }
        _connection = null;
        connection.Close();
        connection.Call.Dispose();
        if (connection.Reader is { } reader)
        {
            await reader.ConfigureAwait(false);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        double ms = _options.ReconnectBackoffMin.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        ms = Math.Min(ms, _options.ReconnectBackoffMax.TotalMilliseconds) * _owner.NextJitter();
        return TimeSpan.FromMilliseconds(Math.Max(1, ms));
    }

    private string Describe(Exception e) => e switch
    {
        RpcException r => $"{r.StatusCode}: {r.Status.Detail}",
        OperationCanceledException => $"timed out after {_options.ConnectTimeout}",
        _ => e.Message,
    };

    /// <summary>One open stream to the peer.</summary>
    private sealed class Connection(GrpcPeerLink link, AsyncDuplexStreamingCall<PeerBatch, PeerBatch> call, string address)
    {
        private int _broken;

        public AsyncDuplexStreamingCall<PeerBatch, PeerBatch> Call { get; } = call;

        public string Address { get; } = address;

        public Task? Reader { get; set; }

        public bool Broken => Volatile.Read(ref _broken) != 0;

        /// <summary>Marks the stream dead (first reason wins); the loop replaces it before its next write.</summary>
        public void Fail(string reason)
        {
            if (Interlocked.Exchange(ref _broken, 1) != 0 || link._owner.Stopping.IsCancellationRequested)
            {
                return;
            }
            link.Counters.LastError = reason;
            link.Counters.TryMove(PeerLinkState.Connected, PeerLinkState.Idle);
            GrpcPeerTransport.LogLinkBroken(link._owner.Logger, link.Peer, Address, reason);
        }

        /// <summary>Marks the stream dead without a reason: the loop is closing it on purpose.</summary>
        public void Close() => Volatile.Write(ref _broken, 1);
    }
}
