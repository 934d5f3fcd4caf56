using System.Collections.Immutable;

namespace Memo.Node.Cluster;

public sealed partial class MembershipState
{
    /// <summary>Whether <paramref name="candidate"/> (a <see cref="MemberStatus.Joining"/> record) may join, with at most
    /// <paramref name="maxMembers"/> live members.</summary>
    public JoinCheck CheckJoin(Member candidate, int maxMembers)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMembers);
        if (candidate.Status != MemberStatus.Joining)
        {
            throw new ArgumentException($"A joining record has status Joining, not {candidate.Status}.", nameof(candidate));
        }
        if (Members.TryGetValue(candidate.Id, out var existing))
        {
            if (!existing.Status.IsLive())
            {
                return JoinCheck.NodeIdRetired;
            }
            return existing.SameIdentity(candidate) ? JoinCheck.AlreadyMember : JoinCheck.NodeIdInUse;
        }
        var live = 0;
        foreach (var member in Members.Values)
        {
            if (!member.Status.IsLive())
            {
                continue;
            }
            if (string.Equals(member.Address, candidate.Address, StringComparison.OrdinalIgnoreCase))
            {
                return JoinCheck.AddressInUse;
            }
            live++;
        }
        return live >= maxMembers || Members.Count >= MembershipLimits.MaxMemberRecords ? JoinCheck.ClusterFull : JoinCheck.Admit;
    }

    /// <summary>
    /// Adds <paramref name="joining"/> as <see cref="MemberStatus.Joining"/>, made by <paramref name="self"/>: a live member
    /// (the seed the node contacted) or the joining node itself (the first node, forming a cluster). Returns this state
    /// when the same record is already there; throws <see cref="InvalidOperationException"/> for any other refusal of
    /// <see cref="CheckJoin"/>, which the caller answers to the joining node instead.
    /// </summary>
    public MembershipState Join(NodeId self, Member joining, int maxMembers)
    {
        ArgumentNullException.ThrowIfNull(joining);
        var check = CheckJoin(joining, maxMembers);
        if (check == JoinCheck.AlreadyMember)
        {
            return this;
        }
        if (check != JoinCheck.Admit)
        {
            throw new InvalidOperationException($"Join of {joining.Id} at {joining.Address} refused: {check}. Call CheckJoin first.");
        }
        if (self != joining.Id)
        {
            EnsureActor(self);
        }
        return Changed(self, Members.Add(joining.Id, joining), Reachability);
    }

    /// <summary>
    /// Moves <paramref name="subject"/> to status <paramref name="to"/>, made by <paramref name="self"/> (a live member).
    /// Returns this state if the subject already has that status; throws <see cref="InvalidOperationException"/> when
    /// the transition table (<see cref="MemberStatusTransitions"/>) forbids the move or the subject is unknown.
    /// Going Up assigns the next up-number; going Removed leaves a tombstone and drops the subject's reachability data.
    /// </summary>
    public MembershipState Transition(NodeId self, NodeId subject, MemberStatus to)
    {
        EnsureActor(self);
        if (!Members.TryGetValue(subject, out var member))
        {
            throw new InvalidOperationException($"{subject} is not a member.");
        }
        if (member.Status == to)
        {
            return this;
        }
        MemberStatusTransitions.EnsureAllowed(subject, member.Status, to);
        var upNumber = to == MemberStatus.Up ? MaxUpNumber() + 1 : member.UpNumber;
        var reachability = to == MemberStatus.Removed ? Reachability.Without(new HashSet<NodeId> { subject }) : Reachability;
        return Changed(self, Members.SetItem(subject, member.WithStatus(to, upNumber)), reachability);
    }

    /// <summary>Joining -> Up (normally through <see cref="LeaderActions"/>).</summary>
    public MembershipState MarkUp(NodeId self, NodeId subject) => Transition(self, subject, MemberStatus.Up);

    /// <summary>Joining or Up -> Leaving: the subject (or an operator through any member) asks it to leave.</summary>
    public MembershipState Leave(NodeId self, NodeId subject) => Transition(self, subject, MemberStatus.Leaving);

    /// <summary>Leaving -> Exiting (normally through <see cref="LeaderActions"/>).</summary>
    public MembershipState MarkExiting(NodeId self, NodeId subject) => Transition(self, subject, MemberStatus.Exiting);

    /// <summary>Any live status -> Down: the subject is declared dead (downing rule or operator).</summary>
    public MembershipState Down(NodeId self, NodeId subject) => Transition(self, subject, MemberStatus.Down);

    /// <summary>Exiting or Down -> Removed (normally through <see cref="LeaderActions"/>).</summary>
    public MembershipState Remove(NodeId self, NodeId subject) => Transition(self, subject, MemberStatus.Removed);

    /// <summary>Records that <paramref name="observer"/>'s failure detector suspects <paramref name="subject"/>; the same
    /// state if it already did.</summary>
    public MembershipState MarkUnreachable(NodeId observer, NodeId subject) => Observe(observer, subject, ReachabilityStatus.Unreachable);

    /// <summary>Records that <paramref name="observer"/> hears from <paramref name="subject"/> again; the same state if it
    /// did not suspect it.</summary>
    public MembershipState MarkReachable(NodeId observer, NodeId subject) => Observe(observer, subject, ReachabilityStatus.Reachable);

    /// <summary>Records that <paramref name="self"/> holds this version (after receiving or making it). Not a change:
    /// the version stays. The same state if <paramref name="self"/> is not a member or already listed.</summary>
    public MembershipState Seen(NodeId self) =>
        !Members.ContainsKey(self) || SeenBy.Contains(self) ? this : new MembershipState(Members, Version, Reachability, SeenBy.Add(self));

    /// <summary>
    /// The leader's moves on convergence, as one change by <paramref name="self"/>: Joining -> Up for reachable joiners
    /// (up-numbers in NodeId order; an unreachable one would block convergence as soon as it is Up), Leaving -> Exiting (only members in <paramref name="exitReady"/>, whose hand-off is done; all of them
    /// when null), Exiting -> Removed, Down -> Removed. Returns this state when <paramref name="self"/> is not the
    /// <see cref="Leader"/>, the state has not converged, or there is nothing to do.
    /// </summary>
    public MembershipState LeaderActions(NodeId self, IReadOnlySet<NodeId>? exitReady = null)
    {
        if (Leader != self || !IsConverged)
        {
            return this;
        }
        var members = Members;
        var unreachable = Unreachable;
        var nextUp = MaxUpNumber() + 1;
        HashSet<NodeId>? removed = null;
        foreach (var member in Members.Values)
        {
            var to = member.Status switch
            {
                MemberStatus.Joining when !unreachable.Contains(member.Id) => MemberStatus.Up,
                MemberStatus.Leaving when exitReady is null || exitReady.Contains(member.Id) => MemberStatus.Exiting,
                MemberStatus.Exiting or MemberStatus.Down => MemberStatus.Removed,
                _ => member.Status,
            };
            if (to == member.Status)
            {
                continue;
            }
            MemberStatusTransitions.EnsureAllowed(member.Id, member.Status, to);
            members = members.SetItem(member.Id, member.WithStatus(to, to == MemberStatus.Up ? nextUp++ : member.UpNumber));
            if (to == MemberStatus.Removed)
            {
                (removed ??= []).Add(member.Id);
            }
        }
        if (ReferenceEquals(members, Members))
        {
            return this;
        }
        return Changed(self, members, removed is null ? Reachability : Reachability.Without(removed));
    }

    private MembershipState Observe(NodeId observer, NodeId subject, ReachabilityStatus status)
    {
        EnsureActor(observer);
        if (observer == subject)
        {
            throw new InvalidOperationException($"{observer} cannot observe itself.");
        }
        if (!Members.TryGetValue(subject, out var member) || member.Status == MemberStatus.Removed)
        {
            throw new InvalidOperationException($"{subject} is not a current member.");
        }
        var reachability = Reachability.With(observer, subject, status);
        return ReferenceEquals(reachability, Reachability) ? this : Changed(observer, Members, reachability);
    }

    /// <summary>Only a live member changes the state: a Down or Removed node has been declared dead and must not act.</summary>
    private void EnsureActor(NodeId self)
    {
        if (!Members.TryGetValue(self, out var member) || !member.Status.IsLive())
        {
            throw new InvalidOperationException($"{self} is not a live member and cannot change the membership.");
        }
    }

    private int MaxUpNumber()
    {
        var max = 0;
        foreach (var member in Members.Values)
        {
            max = Math.Max(max, member.UpNumber);
        }
        return max;
    }

    /// <summary>A change made by <paramref name="self"/>: its counter moves on and only it has seen the result.</summary>
    private MembershipState Changed(NodeId self, ImmutableSortedDictionary<NodeId, Member> members, ReachabilityTable reachability) =>
        new(members, Version.Increment(self), reachability, ImmutableSortedSet.Create(self));
}
