namespace Memo.Node.Transport;

/// <summary>
/// The counters and state of one peer link, shared by both transports: written by the link's own loop and
/// by <see cref="IPeerTransport.Send"/> callers (atomically), read by <see cref="Snapshot"/> from anywhere.
/// </summary>
internal sealed class PeerLinkCounters(NodeId peer)
{
    private int _state;
    private int _inboundLinks;
    private long _sent;
    private long _sentBatches;
    private long _received;
    private long _droppedQueueFull;
    private long _droppedUnreachable;
    private long _droppedInboundFull;
    private long _malformedFrames;
    private string? _address;
    private string? _lastError;
    private CancellationTokenSource _connection = new();

    public NodeId Peer { get; } = peer;

    public PeerLinkState State
    {
        get => (PeerLinkState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value);
    }

    public string? Address
    {
        get => Volatile.Read(ref _address);
        set => Volatile.Write(ref _address, value);
    }

    public string? LastError
    {
        get => Volatile.Read(ref _lastError);
        set => Volatile.Write(ref _lastError, value);
    }

    /// <summary>Cancelled when the link's current connection (or connection attempt) ends: see
    /// <see cref="IPeerTransport.ConnectionLost"/>.</summary>
    public CancellationToken Connection => Volatile.Read(ref _connection).Token;

    /// <summary>The connection ended: cancels the token of everyone waiting on it; later readers get a fresh one.</summary>
    public void EndConnection()
    {
        // Not disposed: a token read just before the swap may still be registered on; a source without timers or
        // wait handles holds nothing the collector cannot reclaim.
        var ended = Interlocked.Exchange(ref _connection, new CancellationTokenSource());
        ended.Cancel();
    }

    /// <summary>Moves from <paramref name="expected"/> to <paramref name="next"/> only if still there; true if it moved.</summary>
    public bool TryMove(PeerLinkState expected, PeerLinkState next) =>
        Interlocked.CompareExchange(ref _state, (int)next, (int)expected) == (int)expected;

    public void InboundOpened() => Interlocked.Increment(ref _inboundLinks);

    public void InboundClosed() => Interlocked.Decrement(ref _inboundLinks);

    public void AddSent(int messages)
    {
        Interlocked.Add(ref _sent, messages);
        Interlocked.Increment(ref _sentBatches);
    }

    public void AddReceived(int messages) => Interlocked.Add(ref _received, messages);

    public void AddDroppedQueueFull(int messages) => Interlocked.Add(ref _droppedQueueFull, messages);

    public void AddDroppedUnreachable(int messages) => Interlocked.Add(ref _droppedUnreachable, messages);

    public void AddDroppedInboundFull(int messages) => Interlocked.Add(ref _droppedInboundFull, messages);

    public void AddMalformed(int frames) => Interlocked.Add(ref _malformedFrames, frames);

    public PeerLinkStats Snapshot(int queued, long queuedBytes) => new(
        Peer,
        Address,
        State,
        Math.Max(0, Volatile.Read(ref _inboundLinks)),
        queued,
        queuedBytes,
        Interlocked.Read(ref _sent),
        Interlocked.Read(ref _sentBatches),
        Interlocked.Read(ref _received),
        Interlocked.Read(ref _droppedQueueFull),
        Interlocked.Read(ref _droppedUnreachable),
        Interlocked.Read(ref _droppedInboundFull),
        Interlocked.Read(ref _malformedFrames),
        LastError);
}
