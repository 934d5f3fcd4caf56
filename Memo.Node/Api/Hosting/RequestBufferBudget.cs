namespace Memo.Node.Api.Hosting;

/// <summary>
/// The bytes of request messages the API port may hold buffered at once, across every call and connection
/// (<c>memo.grpc.request-buffer-budget</c>): a message reserves its declared length before its body is buffered and
/// gives it back once the handler has taken it.
/// </summary>
/// <remarks>Waiters are served first come, first served, so a large message is not starved by a stream of small
/// ones; one that waits longer than it may gives up (the caller answers RESOURCE_EXHAUSTED).</remarks>
public sealed class RequestBufferBudget
{
    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _available;

    /// <summary>A budget of <paramref name="capacity"/> bytes.</summary>
    public RequestBufferBudget(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _available = capacity;
    }

    /// <summary>The whole budget, in bytes.</summary>
    public long Capacity { get; }

    /// <summary>Bytes reserved now.</summary>
    public long Reserved
    {
        get
        {
            lock (_lock)
            {
                return Capacity - _available;
            }
        }
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/>, waiting up to <paramref name="wait"/> behind earlier reservations; false when
    /// the budget could not be had in time (or never can: more than the whole budget).
    /// </summary>
    public async ValueTask<bool> TryReserveAsync(long bytes, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes > Capacity)
        {
            return false;
        }
        Waiter waiter;
        LinkedListNode<Waiter> node;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return true;
            }
            if (wait <= TimeSpan.Zero)
            {
                return false;
            }
            waiter = new Waiter(bytes);
            node = _waiters.AddLast(waiter);
        }
        try
        {
            await waiter.Granted.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_lock)
            {
                if (!waiter.Granted.Task.IsCompletedSuccessfully)
                {
                    _waiters.Remove(node);
                    // A large waiter leaving the head may let smaller ones behind it in.
                    GrantWaiters();
                }
                else if (e is TimeoutException)
                {
                    return true; // granted just as the wait ended
                }
                else
                {
                    Release(bytes); // granted, but the caller is gone
                }
            }
            if (e is OperationCanceledException)
            {
                throw;
            }
            return false;
        }
    }

    /// <summary>Gives back bytes reserved earlier.</summary>
    public void Release(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_lock)
        {
            _available += bytes;
            if (_available > Capacity)
            {
                throw new InvalidOperationException($"Released more request buffer budget than was reserved ({_available - Capacity} bytes too many).");
            }
            GrantWaiters();
        }
    }

    private void GrantWaiters()
    {
        while (_waiters.First is { } head && head.Value.Bytes <= _available)
        {
            _available -= head.Value.Bytes;
            _waiters.RemoveFirst();
            head.Value.Granted.TrySetResult();
        }
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
