using System.Globalization;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// The Raft timing every replica of a network must share. With lease reads a leader answers reads alone for
/// <c>election-ticks − 2 − 10%</c> of its own ticks, trusting that no voter elects another leader sooner; a voter whose
/// ticks are shorter, or that has leases off (and so no startup vote refusal), breaks that trust and a read can miss
/// a write acknowledged by the new leader. Mixed timing also stalls reconfiguration (a slow node holds its lease and
/// refuses votes at startup several times longer than its peers). So it is a network parameter: fixed when the network
/// is created, recorded in each data folder, and compared at join like the shard count.
/// </summary>
/// <param name="TickInterval">The Raft tick (<c>memo.raft.tick-interval</c>).</param>
/// <param name="ElectionTicks">Ticks of silence before a follower stands (<c>memo.raft.election-ticks</c>).</param>
/// <param name="LeaseReads">Whether leaders serve reads under a lease (<c>memo.raft.lease-reads</c>).</param>
public sealed record RaftTiming(TimeSpan TickInterval, int ElectionTicks, bool LeaseReads)
{
    /// <summary>The timing as text, for logs and error messages.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"tick-interval {Configuration.OptionsValidator.ShowDuration(TickInterval)}, election-ticks {ElectionTicks}, lease-reads {(LeaseReads ? "on" : "off")}");
}
