namespace Memo.Node.Configuration;

/// <summary>Network policies, fixed when a network is created and used by the cluster layer (<c>memo.network</c>).</summary>
/// <param name="ReplicationFactor">Replicas of every shard: the size of each Raft group.</param>
/// <param name="EvictionDelay">How long a member may stay unreachable before it is downed and its shards
/// re-replicated.</param>
public sealed record NetworkOptions(int ReplicationFactor, TimeSpan EvictionDelay)
{
    internal const string Path = "memo.network";

    internal static NetworkOptions Read(OptionsReader r) => new(
        r.Int32($"{Path}.replication-factor"),
        r.Duration($"{Path}.eviction-delay"));

    internal void Validate(OptionsValidator v)
    {
        v.Range($"{Path}.replication-factor", ReplicationFactor, 1, 15);
        v.DurationRange($"{Path}.eviction-delay", EvictionDelay, TimeSpan.FromSeconds(1), TimeSpan.FromDays(30));
    }
}
