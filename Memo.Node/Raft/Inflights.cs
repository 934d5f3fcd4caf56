namespace Memo.Node.Raft;

/// <summary>The last index of each unacknowledged append to one follower, bounded by count (flow control).</summary>
internal sealed class Inflights(int capacity)
{
    private readonly Queue<LogIndex> _lastIndexes = new();

    public int Count => _lastIndexes.Count;

    public bool IsFull => _lastIndexes.Count >= capacity;

    public void Add(LogIndex lastIndex)
    {
        RaftInvariantException.ThrowIf(IsFull, "inflight appends over capacity");
        _lastIndexes.Enqueue(lastIndex);
    }

    /// <summary>Forgets appends acknowledged through <paramref name="index"/>.</summary>
    public void FreeThrough(LogIndex index)
    {
        while (_lastIndexes.Count > 0 && _lastIndexes.Peek() <= index)
        {
            _lastIndexes.Dequeue();
        }
    }

    /// <summary>Forgets the oldest append, presumed lost, so a stalled pipeline moves again.</summary>
    public void FreeFirst()
    {
        if (_lastIndexes.Count > 0)
        {
            _lastIndexes.Dequeue();
        }
    }

    public void Clear() => _lastIndexes.Clear();
}
