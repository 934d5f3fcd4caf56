namespace Memo.Node.Shards.Replicated;

/// <summary>
/// Logical time for shard group replicas: calls each subscriber once per Raft tick. The runtime turns a
/// <see cref="TimeProvider"/> into ticks (<see cref="TimerShardTickSource"/>); tests fire ticks by hand so runs
/// do not depend on wall-clock time.
/// </summary>
public interface IShardTickSource
{
    /// <summary>Calls <paramref name="onTick"/> on every tick until the returned handle is disposed. The callback must not block.</summary>
    IDisposable Subscribe(Action onTick);
}
