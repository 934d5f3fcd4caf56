namespace Memo.Node.Cluster;

/// <summary>
/// The transition table of <see cref="MemberStatus"/> (diagram in MemberStatus.cs) and the groups of statuses
/// the cluster rules refer to.
/// </summary>
public static class MemberStatusTransitions
{
    /// <summary>True when a member may move from <paramref name="from"/> to <paramref name="to"/>. Staying in the
    /// same status is not a transition and returns false.</summary>
    public static bool IsAllowed(MemberStatus from, MemberStatus to) => (from, to) switch
    {
        (MemberStatus.Joining, MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Down) => true,
        (MemberStatus.Up, MemberStatus.Leaving or MemberStatus.Down) => true,
        (MemberStatus.Leaving, MemberStatus.Exiting or MemberStatus.Down) => true,
        (MemberStatus.Exiting, MemberStatus.Removed or MemberStatus.Down) => true,
        (MemberStatus.Down, MemberStatus.Removed) => true,
        _ => false,
    };

    /// <summary>Throws <see cref="InvalidOperationException"/> unless <see cref="IsAllowed"/>.</summary>
    public static void EnsureAllowed(NodeId member, MemberStatus from, MemberStatus to)
    {
        if (!IsAllowed(from, to))
        {
            throw new InvalidOperationException($"Member {member} cannot move from {from} to {to}.");
        }
    }

    /// <summary>False for <see cref="MemberStatus.Down"/> and <see cref="MemberStatus.Removed"/>: the NodeId is retired,
    /// it may not act, gossip or join again.</summary>
    public static bool IsLive(this MemberStatus status) => status is not (MemberStatus.Down or MemberStatus.Removed);

    /// <summary>Up and Leaving: the members that must see a version and be reachable for convergence, that may
    /// lead, and that count for the downing majority.</summary>
    public static bool IsFullMember(this MemberStatus status) => status is MemberStatus.Up or MemberStatus.Leaving;

    /// <summary>Defined for every status and checked so that an unknown wire value cannot slip through.</summary>
    public static bool IsDefined(MemberStatus status) => status is >= MemberStatus.Joining and <= MemberStatus.Removed;
}
