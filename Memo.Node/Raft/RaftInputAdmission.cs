namespace Memo.Node.Raft;

/// <summary>Why a Raft message from a peer was handed to the core, or that it was not.</summary>
public enum RaftAdmission
{
    /// <summary>Refused: the sender is not known as a member of the group and no exception applies.</summary>
    Refused = 0,

    /// <summary>The sender is a member of a configuration in the replica's log that may be in force (the committed one or a later one).</summary>
    Member,

    /// <summary>The sender is one of the replicas the cluster's placement assigns to the group (the configuration it is driven towards).</summary>
    Placed,

    /// <summary>The replica has no configuration yet (a joining replica waiting for its first snapshot) and the message is leader traffic.</summary>
    Joining,

    /// <summary>
    /// The replica has heard no leader of its known configurations for a while and the message is leader traffic or
    /// a vote request: it may come from a configuration newer than the replica's log.
    /// </summary>
    Leaderless,
}

/// <summary>
/// What the admission decision knows of one replica (<see cref="RaftNode.Admit"/> builds it from the core's state).
/// </summary>
/// <param name="IsKnownMember">Whether a node is a member of a configuration in the replica's log from the committed
/// one onward: the one in force once everything in the log commits, or the one in force until then.</param>
/// <param name="IsPlaced">Whether a node is one of the replicas the cluster's placement assigns to the group, as this
/// node sees it (never, when the host has no placement, as in the simulator).</param>
/// <param name="Uninitialized">The replica has no configuration yet.</param>
/// <param name="TicksWithoutMemberLeader">Ticks since the replica last heard a leader that is a known member (zero
/// while it leads).</param>
/// <param name="LeaderlessTicks">From how many such ticks on the replica also admits leader traffic and vote
/// requests from senders it does not know.</param>
public sealed record RaftAdmissionView(
    Func<NodeId, bool> IsKnownMember,
    Func<NodeId, bool> IsPlaced,
    bool Uninitialized,
    int TicksWithoutMemberLeader,
    int LeaderlessTicks);

/// <summary>
/// Which peers' Raft messages a replica accepts (issue 9 item 2: Raft inputs only from current members of the
/// group). Pure; the host asks before <see cref="RaftNode.Step"/>.
/// </summary>
/// <remarks>
/// <para>A replica's own log is the only group membership it knows for sure, and it can be stale: a follower cut off
/// while the group added members does not know them, yet must accept the new configuration's leader (or grant it a
/// vote) to catch up, or it stays behind for good and a group that needs its vote stalls. So the rule is not "members
/// of my configuration" alone. A message is admitted when its sender</para>
/// <list type="number">
/// <item>is a member of a configuration in the log that may be in force: the committed one or a later one, so a
/// leader that an uncommitted configuration removes keeps being heard until the removal commits (<see cref="RaftAdmission.Member"/>);</item>
/// <item>or is one of the replicas the cluster's placement (the authenticated cluster membership and the ring) assigns
/// to the shard, which every configuration change is driven towards (<see cref="RaftAdmission.Placed"/>);</item>
/// <item>or the replica is joining (no configuration at all) and the message is leader traffic: it cannot know its
/// leader before the first snapshot names the group (<see cref="RaftAdmission.Joining"/>);</item>
/// <item>or the replica has heard no leader it knows for <see cref="RaftAdmissionView.LeaderlessTicks"/> ticks and
/// the message is leader traffic or a vote request (<see cref="RaftAdmission.Leaderless"/>): the escape from a stale
/// configuration when neither the log nor the placement names the group's current leader or its only electable
/// candidate. Messages admitted this way do not reset the count; a leader stops needing it once its configuration
/// entry reaches the log.</item>
/// </list>
/// <para>Responses, TimeoutNow and ReadIndex traffic are admitted only from known or placed senders: a replica only
/// asks those, a leader counts only its configuration's answers, and a forged ReadIndexResponse would make a
/// follower serve a stale read. Why this cannot deadlock, and what it still lets a hostile member do, is argued in
/// docs/security.md ("Raft inputs").</para>
/// </remarks>
public static class RaftInputAdmission
{
    /// <summary>The decision for a message of <paramref name="kind"/> from <paramref name="from"/>.</summary>
    public static RaftAdmission Decide(RaftMessageKind kind, NodeId from, RaftAdmissionView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (view.IsKnownMember(from))
        {
            return RaftAdmission.Member;
        }

        if (view.IsPlaced(from))
        {
            return RaftAdmission.Placed;
        }

        var leaderTraffic = kind is RaftMessageKind.Append or RaftMessageKind.Heartbeat or RaftMessageKind.Snapshot;
        if (view.Uninitialized && leaderTraffic)
        {
            return RaftAdmission.Joining;
        }

        if (view.TicksWithoutMemberLeader >= view.LeaderlessTicks && (leaderTraffic || kind is RaftMessageKind.Vote or RaftMessageKind.PreVote))
        {
            return RaftAdmission.Leaderless;
        }

        return RaftAdmission.Refused;
    }
}
