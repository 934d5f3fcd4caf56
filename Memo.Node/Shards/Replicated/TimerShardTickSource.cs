namespace Memo.Node.Shards.Replicated;

/// <summary>
/// Ticks every <see cref="Interval"/> on a <see cref="TimeProvider"/> timer: the one place where wall-clock time
/// becomes Raft's logical time. One timer serves every replica of the node.
/// </summary>
public sealed class TimerShardTickSource : IShardTickSource, IDisposable
{
    private readonly ITimer _timer;
    private readonly Lock _lock = new();
    // Copied on change so the timer callback reads it without locking.
    private volatile Action[] _subscribers = [];

    /// <summary>Starts ticking.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The interval is not between 1 ms and 1 minute.</exception>
    public TimerShardTickSource(TimeProvider timeProvider, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (interval < TimeSpan.FromMilliseconds(1) || interval > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "A tick interval is between 1 ms and 1 minute.");
        }
        Interval = interval;
        _timer = timeProvider.CreateTimer(static state => ((TimerShardTickSource)state!).Fire(), this, interval, interval);
    }

    /// <summary>The time between ticks.</summary>
    public TimeSpan Interval { get; }

    /// <inheritdoc />
    public IDisposable Subscribe(Action onTick)
    {
        ArgumentNullException.ThrowIfNull(onTick);
        lock (_lock)
        {
            _subscribers = [.. _subscribers, onTick];
        }
        return new Subscription(this, onTick);
    }

    /// <summary>Stops the timer.</summary>
    public void Dispose() => _timer.Dispose();

    private void Fire()
    {
        foreach (var subscriber in _subscribers)
        {
            subscriber();
        }
    }

    private sealed class Subscription(TimerShardTickSource source, Action onTick) : IDisposable
    {
        public void Dispose()
        {
            lock (source._lock)
            {
                source._subscribers = source._subscribers.Where(s => s != onTick).ToArray();
            }
        }
    }
}
