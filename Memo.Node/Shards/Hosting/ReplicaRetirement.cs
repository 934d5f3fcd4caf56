using Memo.Node.Raft;
using Memo.Node.Shards.Replicated;

namespace Memo.Node.Shards.Hosting;

/// <summary>
/// Whether this node's replica of a shard the ring no longer places here has left its group, so the host may stop it
/// and clear its data (pure: <see cref="ShardHost"/> asks it for every such replica at every turn).
/// </summary>
/// <remarks>
/// <para>A replica's own configuration is the first witness: one that no longer lists this node was removed. But a
/// removed member is usually never told: the leader puts a configuration in force when it appends it, so it stops
/// sending to the member the entry removes before that entry could reach it. The other witness is then a recent report
/// of the group's leader, of at least the replica's term, whose configuration leaves this node out. How far that
/// report is trusted depends on what retiring would take from the group:</para>
/// <list type="bullet">
/// <item>no configuration yet (still waiting for its first snapshot): nothing; the report suffices;</item>
/// <item>a learner in its own configuration: no vote either; the report suffices. It cannot wait for more: a learner
/// never campaigns, so a removed one keeps its last leader for good (Memo.Raft.Tests Scenarios/removed_learner.txt).
/// Waiting for it to lose its leader left a four-node start with a learner of a shard the growing ring had just moved
/// away, hosted forever;</item>
/// <item>a voter in its own configuration: its vote. It is retired only once it also hears from no leader (a removed
/// voter times out and campaigns, which clears its leader; one the group still counts keeps hearing its leader), so a
/// report that lags a re-addition cannot take a vote the group needs.</item>
/// </list>
/// <para>A retired replica the group did still count (a report of a stale leader, views that disagree) costs a
/// snapshot: the host starts an empty replica again once the ring places the shard here.</para>
/// </remarks>
public static class ReplicaRetirement
{
    /// <summary>True when the group no longer counts <paramref name="self"/>, by the replica's own status or the leader's report.</summary>
    /// <param name="self">This node.</param>
    /// <param name="status">This node's replica's last published status.</param>
    /// <param name="leader">The best leader report of the shard (<see cref="ShardHost.LeaderReport"/>), null when none is known.</param>
    /// <param name="nowUtc">Now.</param>
    /// <param name="recent">How old a leader report may be and still say "removed" for a replica that has a configuration.</param>
    public static bool LeftGroup(NodeId self, ShardGroupStatus status, ReplicaReport? leader, DateTime nowUtc, TimeSpan recent)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.StopReason is null && status.IsLeader)
        {
            return false; // hands leadership off first (rebalancing), then another leader removes it
        }
        var leaderExcludes = leader is not null && leader.Node != self && !leader.Membership.Contains(self);
        if (status.Membership.Voters.IsEmpty)
        {
            return leaderExcludes;
        }
        if (!status.Membership.Contains(self))
        {
            return true;
        }
        var recentReportExcludes = leaderExcludes && leader!.Term >= status.Term && leader.ReceivedUtc >= nowUtc - recent;
        return status.Membership.IsVoter(self)
            ? recentReportExcludes && status.Leader.IsNone
            : recentReportExcludes;
    }
}
