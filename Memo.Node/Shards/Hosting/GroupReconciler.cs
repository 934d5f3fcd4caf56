using Memo.Node.Cluster;
using Memo.Node.Raft;

namespace Memo.Node.Shards.Hosting;

/// <summary>
/// Decides the next configuration change of one shard group from its configuration and the ring's replica set
/// (pure: the leader's host calls it and carries the step out). The order keeps the group's redundancy up while
/// it moves: add the missing node as a learner, wait until it has caught up, promote it, and only when every node
/// the ring names is a voter remove a voter it no longer names (handing leadership off first if that voter is the
/// leader). One change at a time: the Raft core refuses a second while one is uncommitted anyway.
/// </summary>
public static class GroupReconciler
{
    /// <summary>The next step, or null when the group matches the ring or must wait (a learner still catching up).</summary>
    /// <param name="leader">This node, the group's leader.</param>
    /// <param name="membership">The group's configuration.</param>
    /// <param name="desired">The ring's replica set of the shard.</param>
    /// <param name="progress">The leader's view of each member's replication.</param>
    /// <param name="leaderLast">The leader's last log index.</param>
    /// <param name="maxLag">How far behind the leader's last index a learner may be and count as caught up.</param>
    /// <param name="addressOf">A member's address, null when unknown.</param>
    public static GroupStep? Next(
        NodeId leader,
        RaftMembership membership,
        ReplicaSet desired,
        IReadOnlyDictionary<NodeId, FollowerProgress> progress,
        LogIndex leaderLast,
        ulong maxLag,
        Func<NodeId, string?> addressOf)
    {
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(addressOf);
        if (desired.Count == 0 || membership.Voters.IsEmpty)
        {
            return null;
        }
        var wanted = desired.Nodes.ToHashSet();
        foreach (var learner in membership.Learners)
        {
            if (!wanted.Contains(learner))
            {
                return new GroupStep.Remove(learner);
            }
        }
        foreach (var learner in membership.Learners)
        {
            return CaughtUp(learner) ? new GroupStep.Promote(learner) : null;
        }
        foreach (var node in desired.Nodes)
        {
            if (!membership.Contains(node) && addressOf(node) is { } address)
            {
                return new GroupStep.AddLearner(node, address);
            }
        }
        if (!desired.Nodes.All(membership.IsVoter))
        {
            return null;
        }
        foreach (var voter in membership.Voters)
        {
            if (wanted.Contains(voter))
            {
                continue;
            }
            if (voter != leader)
            {
                return new GroupStep.Remove(voter);
            }
            var target = desired.Nodes.Where(CaughtUp).OrderByDescending(n => progress[n].Match).FirstOrDefault();
            return target.IsNone ? null : new GroupStep.TransferLeadership(target);
        }
        return null;

        // Only a confirmed match counts: a learner still probing or receiving its snapshot reports match 0, which on a
        // short log would otherwise look "near" the leader and get a replica with no data promoted.
        bool CaughtUp(NodeId node) =>
            progress.TryGetValue(node, out var p) && p.State == ProgressState.Replicate && p.Match > LogIndex.Zero
            && p.Match.Value + maxLag >= leaderLast.Value;
    }
}
