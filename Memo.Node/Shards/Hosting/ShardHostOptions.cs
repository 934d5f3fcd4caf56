using Memo.Node.Shards.Forwarding;

namespace Memo.Node.Shards.Hosting;

/// <summary>Timing and limits of a node's shard hosting and rebalancing (<see cref="ShardHost"/>).</summary>
public sealed record ShardHostOptions
{
    /// <summary>How often the host compares hosted replicas and group configurations with the ring (and at every view change).</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Configuration changes this node's leaders carry out at once (moves in flight per node).</summary>
    public int MaxConcurrentMoves { get; init; } = 4;

    /// <summary>A learner within this many entries of the leader's last index counts as caught up and is promoted.</summary>
    public ulong CatchUpLagEntries { get; init; } = 64;

    /// <summary>How often the host asks every member for its replicas' status (leaders, applied indexes, configurations).</summary>
    public TimeSpan StatusPollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait for a peer's answer to one status call (over the peer links; a lost answer is not retried
    /// until the next poll).</summary>
    public TimeSpan PeerCallTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A status report older than this is not trusted (graceful-leave readiness, retiring stale replicas).</summary>
    public TimeSpan ReportFreshness { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the host counts what each hosted replica holds in the silo (<see cref="ShardHost.UsageOf"/>).</summary>
    public TimeSpan UsageInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Limits of forwarding over the peer links (the message limit is the replicas' <c>MaxMessageBytes</c>).</summary>
    public ShardForwarderOptions Forwarding { get; init; } = new();

    /// <summary>The direct block path and its anti-entropy.</summary>
    public Memo.Node.Blocks.Copies.BlockCopyOptions Copies { get; init; } = new();

    /// <summary>Every problem with these options; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (ReconcileInterval < TimeSpan.FromMilliseconds(1) || ReconcileInterval > TimeSpan.FromMinutes(1))
        {
            problems.Add("the reconcile interval is between 1 ms and 1 minute");
        }
        if (MaxConcurrentMoves is < 1 or > 1024)
        {
            problems.Add("max concurrent moves is between 1 and 1024");
        }
        if (StatusPollInterval < TimeSpan.FromMilliseconds(1) || PeerCallTimeout < TimeSpan.FromMilliseconds(1) || ReportFreshness <= StatusPollInterval)
        {
            problems.Add("the status poll interval and peer call timeout are positive, and reports stay fresh longer than the poll interval");
        }
        if (UsageInterval < TimeSpan.FromMilliseconds(1))
        {
            problems.Add("the usage interval is positive");
        }
        problems.AddRange(Forwarding.Validate());
        problems.AddRange(Copies.Validate());
        return problems;
    }
}
