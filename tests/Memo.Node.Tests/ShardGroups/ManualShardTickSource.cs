using Memo.Node.Shards.Replicated;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>Ticks only when the test says so: logical time independent of the wall clock.</summary>
internal sealed class ManualShardTickSource : IShardTickSource
{
    private readonly Lock _lock = new();
    private readonly List<Action> _subscribers = [];

    public long Ticks { get; private set; }

    public IDisposable Subscribe(Action onTick)
    {
        lock (_lock)
        {
            _subscribers.Add(onTick);
        }
        return new Subscription(this, onTick);
    }

    public void Tick()
    {
        Action[] subscribers;
        lock (_lock)
        {
            subscribers = [.. _subscribers];
            Ticks++;
        }
        foreach (var subscriber in subscribers)
        {
            subscriber();
        }
    }

    private sealed class Subscription(ManualShardTickSource source, Action onTick) : IDisposable
    {
        public void Dispose()
        {
            lock (source._lock)
            {
                source._subscribers.Remove(onTick);
            }
        }
    }
}
