using System.Collections.Immutable;

namespace Memo.Node.Cluster;

// Design note: the downing rule, "keep majority" (Akka's split-brain resolver, keep-majority strategy).
//
// A failure detector cannot tell a crashed node from a partitioned one, so both sides of a partition see the other
// side unreachable. If each side downed the other, two clusters would each re-replicate and serve the same shards:
// split brain. Keep-majority lets at most one side survive:
//   - counted members: the full members (Up, Leaving) of the state; Joining, Exiting, Down and Removed do not count;
//   - wait until every unreachable member has been unreachable for the eviction delay (the set has been stable
//     that long), so a short glitch or a still-changing partition decides nothing;
//   - the side that reaches a strict majority of the counted members downs every unreachable member;
//   - with equal halves, the side holding the lowest counted NodeId wins, the other stops serving;
//   - a minority side downs nobody and stops serving.
// Two disjoint sides cannot both hold a strict majority of the same counted set, and only one of two equal halves
// holds the lowest NodeId, so in a clean partition at most one side downs the other. The argument needs both sides
// to count the same members: a member downed by hand on one side during a partition changes that side's count and
// can void it (as in Akka). Each node applies the rule to its own view; the runtime should pass the members of
// MembershipState.Unreachable (suspected by any live observer, not only by itself) so that the nodes of one side see
// the same set once they have gossiped, and apply a Down decision on the side's leader only (applying it on every
// node is also safe: the Downs merge).

/// <summary>The pure keep-majority downing rule (design note above).</summary>
public static class DowningDecider
{
    /// <summary>
    /// Decides what <paramref name="self"/> does about the members in <paramref name="unreachableSince"/> (member ->
    /// logical millisecond it became unreachable; entries for self, non-members, Down and Removed members are ignored),
    /// at <paramref name="nowMillis"/>, given the eviction delay.
    /// </summary>
    public static DowningDecision Decide(
        MembershipState state,
        NodeId self,
        IReadOnlyDictionary<NodeId, long> unreachableSince,
        long nowMillis,
        TimeSpan evictionDelay)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(unreachableSince);
        ArgumentOutOfRangeException.ThrowIfLessThan(evictionDelay, TimeSpan.Zero);
        if (state.StatusOf(self) is not { } own)
        {
            return new DowningDecision.Stable();
        }
        if (!own.IsLive())
        {
            return new DowningDecision.StopServing(StopServingReason.SelfDown);
        }

        var unreachable = ImmutableSortedSet.CreateBuilder<NodeId>();
        long latest = long.MinValue;
        foreach (var (node, since) in unreachableSince)
        {
            if (node != self && state.StatusOf(node) is { } status && status.IsLive())
            {
                unreachable.Add(node);
                latest = Math.Max(latest, since);
            }
        }
        if (unreachable.Count == 0)
        {
            return new DowningDecision.Stable();
        }
        var delay = (long)evictionDelay.TotalMilliseconds;
        var decideAt = latest > long.MaxValue - delay ? long.MaxValue : latest + delay;
        if (nowMillis < decideAt)
        {
            return new DowningDecision.Wait(decideAt);
        }

        var counted = 0;
        var reachable = 0;
        var lowest = NodeId.None;
        foreach (var member in state.Members.Values)
        {
            if (!member.Status.IsFullMember())
            {
                continue;
            }
            counted++;
            if (lowest.IsNone)
            {
                lowest = member.Id; // Members are sorted by NodeId.
            }
            if (!unreachable.Contains(member.Id))
            {
                reachable++;
            }
        }
        if (counted == 0)
        {
            // Nobody holds shards yet: there is no majority to protect and nothing to re-replicate.
            return new DowningDecision.Stable();
        }
        if (2 * reachable > counted)
        {
            return new DowningDecision.Down(unreachable.ToImmutable());
        }
        if (2 * reachable == counted)
        {
            return unreachable.Contains(lowest)
                ? new DowningDecision.StopServing(StopServingReason.LosingHalf)
                : new DowningDecision.Down(unreachable.ToImmutable());
        }
        return new DowningDecision.StopServing(StopServingReason.Minority);
    }

    /// <summary>
    /// Updates the "unreachable since" bookkeeping from a new <paramref name="state"/>: members of
    /// <see cref="MembershipState.Unreachable"/> (live, not <paramref name="self"/>) keep their earlier time or start
    /// at <paramref name="nowMillis"/>; everyone else is dropped.
    /// </summary>
    public static ImmutableSortedDictionary<NodeId, long> TrackUnreachable(
        IReadOnlyDictionary<NodeId, long> previous,
        MembershipState state,
        NodeId self,
        long nowMillis)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(state);
        var builder = ImmutableSortedDictionary.CreateBuilder<NodeId, long>();
        foreach (var node in state.Unreachable)
        {
            if (node != self && state.StatusOf(node) is { } status && status.IsLive())
            {
                builder[node] = previous.TryGetValue(node, out var since) ? since : nowMillis;
            }
        }
        return builder.ToImmutable();
    }
}
