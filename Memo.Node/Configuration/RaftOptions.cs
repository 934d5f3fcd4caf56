namespace Memo.Node.Configuration;

/// <summary>Timing and flow control of every shard's Raft group (<c>memo.raft</c>). The Raft core counts
/// ticks; only the runtime turns <see cref="TickInterval"/> into ticks.</summary>
/// <param name="TickInterval">Length of one logical tick.</param>
/// <param name="ElectionTicks">Ticks without a leader before a follower campaigns (randomised up to twice this).</param>
/// <param name="HeartbeatTicks">Ticks between leader heartbeats.</param>
/// <param name="MaxInflightAppends">Append messages in flight to one follower before waiting for acknowledgements.</param>
/// <param name="MaxAppendBytes">Most entry bytes in one append message (a single larger entry still goes alone).</param>
/// <param name="SnapshotThreshold">Applied entries after which a replica snapshots and truncates its log.</param>
/// <param name="LeaseReads">Leaders answer linearizable reads under a leader lease instead of a heartbeat round
/// per read (<c>RaftConfig.LeaseReads</c>; safe while clock rates differ by less than a tenth).</param>
public sealed record RaftOptions(
    TimeSpan TickInterval,
    int ElectionTicks,
    int HeartbeatTicks,
    int MaxInflightAppends,
    long MaxAppendBytes,
    int SnapshotThreshold,
    bool LeaseReads = true)
{
    internal const string Path = "memo.raft";

    private static readonly Dictionary<string, bool> Switch = new(StringComparer.OrdinalIgnoreCase)
    {
        ["on"] = true, ["off"] = false,
    };

    internal static RaftOptions Read(OptionsReader r) => new(
        r.Duration($"{Path}.tick-interval"),
        r.Int32($"{Path}.election-ticks"),
        r.Int32($"{Path}.heartbeat-ticks"),
        r.Int32($"{Path}.max-inflight-appends"),
        r.Bytes($"{Path}.max-append-bytes"),
        r.Int32($"{Path}.snapshot-threshold"),
        r.Choice($"{Path}.lease-reads", Switch));

    internal void Validate(OptionsValidator v)
    {
        v.DurationRange($"{Path}.tick-interval", TickInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
        v.Range($"{Path}.heartbeat-ticks", HeartbeatTicks, 1, 1000);
        v.Range($"{Path}.election-ticks", ElectionTicks, 2, 10_000);
        // etcd raft's rule: a follower must hear several heartbeats before it may time out, or leaders flap.
        v.Require(ElectionTicks > HeartbeatTicks, $"{Path}.election-ticks", OptionsValidator.Show(ElectionTicks),
            $"must be greater than {Path}.heartbeat-ticks ({OptionsValidator.Show(HeartbeatTicks)})");
        v.Range($"{Path}.max-inflight-appends", MaxInflightAppends, 1, 65536);
        v.SizeRange($"{Path}.max-append-bytes", MaxAppendBytes, 1024, int.MaxValue);
        v.Range($"{Path}.snapshot-threshold", SnapshotThreshold, 1, int.MaxValue);
        v.Require(!LeaseReads || ElectionTicks >= 4, $"{Path}.election-ticks", OptionsValidator.Show(ElectionTicks),
            $"must be at least 4 with {Path}.lease-reads = on (the lease is the election timeout less a margin)");
    }
}
