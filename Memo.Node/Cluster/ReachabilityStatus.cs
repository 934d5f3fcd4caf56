namespace Memo.Node.Cluster;

/// <summary>What an observer's failure detector says about a subject. Persisted in gossip: explicit values.</summary>
public enum ReachabilityStatus
{
    /// <summary>Heartbeats arrive (or the subject was never suspected).</summary>
    Reachable = 0,

    /// <summary>The observer's failure detector suspects the subject.</summary>
    Unreachable = 1,
}
