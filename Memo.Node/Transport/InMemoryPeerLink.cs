using System.Threading.Channels;

namespace Memo.Node.Transport;

/// <summary>
/// One in-memory sender's link to one peer: the same bounded queue as the gRPC link, and a pump that moves
/// queued messages, one at a time and in order, into the peer's inbound channel (waiting while it is full).
/// </summary>
internal sealed class InMemoryPeerLink : IAsyncDisposable
{
    private readonly InMemoryPeerTransport _owner;
    private readonly PeerSendQueue _queue;
    private readonly Task _pump;
    private volatile string _address;

    public InMemoryPeerLink(InMemoryPeerTransport owner, NodeId peer, string address)
    {
        _owner = owner;
        Peer = peer;
        _address = address;
        Counters = new PeerLinkCounters(peer) { Address = address };
        _queue = new PeerSendQueue(owner.Options.QueueCapacity, owner.Options.MaxQueuedBytes);
        _pump = Task.Run(PumpAsync);
    }

    public NodeId Peer { get; }

    public string Address => _address;

    public PeerLinkCounters Counters { get; }

    /// <summary>Lets the network decide the message's fate, then queues it if it may go now; false when it was
    /// dropped at once (cut, queue full), true when it left (lost and held messages left as far as the sender knows).</summary>
    public bool Send(string address, in PeerMessage message)
    {
        if (!string.Equals(_address, address, StringComparison.Ordinal))
        {
            _address = address;
            Counters.Address = address;
        }
        switch (_owner.Network.DecideAtSend(_owner, this, message, out var error))
        {
            case SendFate.Cut:
                Unreachable(error!, 1);
                return false;
            case SendFate.Lost:
                // Gone on the wire: the sender believes it sent it.
                Counters.AddSent(1);
                return true;
            case SendFate.Held:
                return true;
            default:
                return Enqueue(message);
        }
    }

    /// <summary>Queues a message for the pump; counts it as dropped when the queue is full (false).</summary>
    public bool Enqueue(in PeerMessage message)
    {
        if (_queue.TryEnqueue(message))
        {
            return true;
        }
        if (!_owner.IsDisposed)
        {
            Counters.AddDroppedQueueFull(1);
        }
        return false;
    }

    public PeerLinkStats Snapshot() => Counters.Snapshot(_queue.Count, _queue.Bytes);

    public async ValueTask DisposeAsync()
    {
        _queue.Complete();
        await _pump.ConfigureAwait(false);
    }

    private async Task PumpAsync()
    {
        var token = _owner.Stopping;
        try
        {
            while (await _queue.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (_queue.TryDequeue(out var message))
                {
                    var target = _owner.Network.ResolveAtDelivery(_owner, Peer, _address, out var error);
                    if (target is null)
                    {
                        Unreachable(error!, 1);
                        continue;
                    }
                    try
                    {
                        await target.DeliverAsync(_owner, message, token).ConfigureAwait(false);
                        Counters.AddSent(1);
                        Counters.State = PeerLinkState.Connected;
                    }
                    catch (ChannelClosedException)
                    {
                        Unreachable($"node {Peer} went down while a message was being delivered", 1);
                        Counters.EndConnection();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Clear();
            Counters.State = PeerLinkState.Idle;
        }
    }

    private void Unreachable(string error, int messages)
    {
        Counters.LastError = error;
        Counters.State = PeerLinkState.Unreachable;
        Counters.AddDroppedUnreachable(messages);
    }
}
