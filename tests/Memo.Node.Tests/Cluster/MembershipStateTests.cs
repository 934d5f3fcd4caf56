using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

public sealed class MembershipStateTests
{
    private static readonly NodeId N1 = Id(1), N2 = Id(2), N3 = Id(3), N4 = Id(4);

    // ---- joining ----

    [Fact]
    public void The_first_node_forms_a_cluster_and_its_leader_actions_bring_it_up()
    {
        var state = MembershipState.Empty.Join(N1, Joining(1), MaxMembers);
        Assert.Equal(MemberStatus.Joining, state.StatusOf(N1));
        Assert.Equal(1UL, state.Version[N1]);
        Assert.Equal([N1], state.SeenBy);
        Assert.Equal(N1, state.Leader); // bootstrap: no full member yet, lowest reachable Joining leads
        Assert.True(state.IsConverged); // no Up or Leaving member to wait for

        var up = state.LeaderActions(N1);
        Assert.Equal(MemberStatus.Up, up.StatusOf(N1));
        Assert.Equal(1, up.Members[N1].UpNumber);
        Assert.Equal(2UL, up.Version[N1]);
    }

    [Fact]
    public void A_seed_admits_a_joining_node_as_its_own_change()
    {
        var state = UpCluster(1);
        var joined = state.Join(N1, Joining(2), MaxMembers);
        Assert.Equal(MemberStatus.Joining, joined.StatusOf(N2));
        Assert.Equal(state.Version[N1] + 1, joined.Version[N1]);
        Assert.Equal(0UL, joined.Version[N2]);
        Assert.Equal([N1], joined.SeenBy);
    }

    [Fact]
    public void Joining_again_with_the_same_record_changes_nothing()
    {
        var state = UpCluster(1).Join(N1, Joining(2), MaxMembers);
        Assert.Equal(JoinCheck.AlreadyMember, state.CheckJoin(Joining(2), MaxMembers));
        Assert.Same(state, state.Join(N1, Joining(2), MaxMembers));
    }

    [Fact]
    public void Joins_that_would_corrupt_the_membership_are_refused_as_values()
    {
        var state = UpCluster(1, 2, 3);
        Assert.Equal(JoinCheck.Admit, state.CheckJoin(Joining(4), MaxMembers));
        Assert.Equal(JoinCheck.NodeIdInUse, state.CheckJoin(Member.Joining(N2, AddressOf(2), [1UL]), MaxMembers));
        Assert.Equal(JoinCheck.AddressInUse, state.CheckJoin(Member.Joining(N4, AddressOf(3), [1UL]), MaxMembers));
        Assert.Equal(JoinCheck.ClusterFull, state.CheckJoin(Joining(4), maxMembers: 3));

        var downed = state.Down(N1, N3);
        Assert.Equal(JoinCheck.NodeIdRetired, downed.CheckJoin(Joining(3), MaxMembers));
        // The retired member's address is free for the node's next incarnation (under a new NodeId).
        Assert.Equal(JoinCheck.Admit, downed.CheckJoin(Member.Joining(N4, AddressOf(3), [1UL]), MaxMembers));
        Assert.Equal(JoinCheck.NodeIdRetired, downed.Remove(N1, N3).CheckJoin(Joining(3), MaxMembers));
    }

    [Fact]
    public void A_refused_join_throws_when_applied_without_checking()
    {
        var state = UpCluster(1, 2).Down(N1, N2);
        Assert.Throws<InvalidOperationException>(() => state.Join(N1, Joining(2), MaxMembers));
        Assert.Throws<ArgumentException>(() => state.CheckJoin(Member.Create(N4, AddressOf(4), MemberStatus.Up, 1, [1UL], []), MaxMembers));
    }

    [Fact]
    public void Only_a_live_member_or_the_joiner_itself_may_admit_a_node()
    {
        var state = UpCluster(1, 2).Down(N1, N2);
        Assert.Throws<InvalidOperationException>(() => state.Join(N2, Joining(3), MaxMembers)); // N2 is Down
        Assert.Throws<InvalidOperationException>(() => state.Join(Id(9), Joining(3), MaxMembers)); // not a member
        Assert.Equal(MemberStatus.Joining, state.Join(N3, Joining(3), MaxMembers).StatusOf(N3));
    }

    // ---- transitions ----

    [Fact]
    public void Illegal_transitions_throw_and_repeating_the_current_status_is_a_no_op()
    {
        var state = UpCluster(1, 2, 3);
        Assert.Same(state, state.MarkUp(N1, N2));
        Assert.Throws<InvalidOperationException>(() => state.MarkExiting(N1, N2)); // Up -> Exiting skips Leaving
        var removed = state.Down(N1, N3).Remove(N1, N3);
        Assert.Throws<InvalidOperationException>(() => removed.MarkUp(N1, N3)); // Removed -> Up
        Assert.Throws<InvalidOperationException>(() => removed.Down(N1, N3)); // Removed -> Down
        Assert.Throws<InvalidOperationException>(() => state.Down(N1, N4)); // unknown member
    }

    [Fact]
    public void A_down_member_can_no_longer_change_the_state()
    {
        var state = UpCluster(1, 2, 3).Down(N1, N2);
        Assert.Throws<InvalidOperationException>(() => state.Leave(N2, N3));
        Assert.Throws<InvalidOperationException>(() => state.MarkUnreachable(N2, N3));
        Assert.Throws<InvalidOperationException>(() => state.Down(Id(9), N3)); // never a member
    }

    [Fact]
    public void Every_change_increments_only_the_changers_counter_and_resets_the_seen_set()
    {
        var state = UpCluster(1, 2, 3);
        Assert.Equal([N1, N2, N3], state.SeenBy);
        var left = state.Leave(N2, N2);
        Assert.Equal(VersionOrder.Newer, left.CompareVersion(state));
        Assert.Equal(state.Version[N2] + 1, left.Version[N2]);
        Assert.Equal(state.Version[N1], left.Version[N1]);
        Assert.Equal([N2], left.SeenBy);
    }

    [Fact]
    public void Seen_records_the_viewer_without_changing_the_version()
    {
        var state = UpCluster(1, 2).Leave(N1, N2);
        var seen = state.Seen(N2);
        Assert.Equal(state.Version, seen.Version);
        Assert.Equal([N1, N2], seen.SeenBy);
        Assert.Same(seen, seen.Seen(N2));
        Assert.Same(seen, seen.Seen(Id(9))); // not a member: nothing to record
    }

    [Fact]
    public void Going_up_assigns_increasing_up_numbers()
    {
        var state = UpCluster(1, 2);
        var next = state.Join(N1, Joining(3), MaxMembers).MarkUp(N1, N3);
        Assert.Equal(1, state.Members[N1].UpNumber);
        Assert.Equal(2, state.Members[N2].UpNumber);
        Assert.Equal(3, next.Members[N3].UpNumber);
    }

    [Fact]
    public void Removal_leaves_a_tombstone_and_drops_the_members_reachability_data()
    {
        var state = UpCluster(1, 2, 3)
            .MarkUnreachable(N1, N3)
            .MarkUnreachable(N3, N2)
            .Down(N1, N3)
            .Remove(N1, N3);
        var tombstone = state.Members[N3];
        Assert.Equal(MemberStatus.Removed, tombstone.Status);
        Assert.Empty(tombstone.Tokens);
        Assert.Empty(state.Reachability.UnreachableBy(N1));
        Assert.False(state.Reachability.Observers.ContainsKey(N3));
    }

    // ---- reachability, convergence, leader ----

    [Fact]
    public void Reachability_changes_are_versioned_by_the_observer()
    {
        var state = UpCluster(1, 2, 3);
        var suspected = state.MarkUnreachable(N1, N2);
        Assert.Equal(ReachabilityStatus.Unreachable, suspected.Reachability.Status(N1, N2));
        Assert.Equal(1UL, suspected.Reachability.Observers[N1].Version);
        Assert.Equal(state.Version[N1] + 1, suspected.Version[N1]);
        Assert.Same(suspected, suspected.MarkUnreachable(N1, N2));
        Assert.False(suspected.IsReachable(N2));
        Assert.Equal([N2], suspected.Unreachable);

        var cleared = suspected.MarkReachable(N1, N2);
        Assert.True(cleared.IsReachable(N2));
        // The empty row is kept: its version is what overrides the older row that still lists N2.
        Assert.Equal(2UL, cleared.Reachability.Observers[N1].Version);
        Assert.True(cleared.Merge(suspected).IsReachable(N2));
        Assert.Same(state, state.MarkReachable(N1, N2));
        Assert.Throws<InvalidOperationException>(() => state.MarkUnreachable(N1, N1));
    }

    [Fact]
    public void Convergence_needs_every_up_member_to_have_seen_the_version()
    {
        var state = UpCluster(1, 2, 3).Leave(N1, N3);
        Assert.False(state.IsConverged);
        Assert.False(state.Seen(N2).IsConverged);
        Assert.True(state.Seen(N2).Seen(N3).IsConverged);
    }

    [Fact]
    public void Joining_members_need_not_have_seen_the_version_for_convergence()
    {
        var state = SeenByAll(UpCluster(1, 2)).Join(N1, Joining(3), MaxMembers).Seen(N2);
        Assert.True(state.IsConverged);
    }

    [Fact]
    public void An_unreachable_up_member_blocks_convergence_until_it_is_down()
    {
        var state = SeenByAll(UpCluster(1, 2, 3).MarkUnreachable(N1, N3));
        Assert.False(state.IsConverged);
        var downed = state.Down(N1, N3).Seen(N2);
        Assert.True(downed.IsConverged);
    }

    [Fact]
    public void The_leader_is_the_lowest_reachable_full_member()
    {
        var state = UpCluster(1, 2, 3);
        Assert.Equal(N1, state.Leader);
        Assert.Equal(N2, state.MarkUnreachable(N3, N1).Leader);
        Assert.Equal(N2, state.Leave(N1, N1).MarkExiting(N2, N1).Leader); // Exiting no longer leads
        // A Down observer's old suspicions do not count.
        Assert.Equal(N1, state.MarkUnreachable(N3, N1).Down(N2, N3).Leader);
    }

    [Fact]
    public void Two_replicas_with_equal_states_name_the_same_leader()
    {
        var a = UpCluster(3, 1, 2).MarkUnreachable(N2, N1);
        var b = UpCluster(2, 3, 1).MarkUnreachable(N2, N1);
        Assert.Equal(a.Members.Keys, b.Members.Keys);
        Assert.Equal(N2, a.Leader);
        Assert.Equal(a.Leader, b.Leader);
    }

    // ---- leader actions ----

    [Fact]
    public void Leader_actions_wait_for_convergence_and_only_the_leader_takes_them()
    {
        var state = UpCluster(1, 2).Join(N1, Joining(3), MaxMembers);
        Assert.Same(state, state.LeaderActions(N1)); // N2 has not seen the join
        var converged = state.Seen(N2);
        Assert.Same(converged, converged.LeaderActions(N2)); // N2 is not the leader
        Assert.Equal(MemberStatus.Up, converged.LeaderActions(N1).StatusOf(N3));
    }

    [Fact]
    public void Leader_actions_move_each_member_one_step_in_one_change()
    {
        var state = SeenByAll(UpCluster(1, 2, 3, 4)
            .Join(N1, Joining(5), MaxMembers)
            .Join(N1, Joining(6), MaxMembers)
            .Leave(N1, N2)
            .Leave(N1, N3)
            .Down(N1, N4));
        var before = state.Version[N1];
        var next = state.LeaderActions(N1, exitReady: new HashSet<NodeId> { N3 });

        Assert.Equal(MemberStatus.Up, next.StatusOf(Id(5)));
        Assert.Equal(MemberStatus.Up, next.StatusOf(Id(6)));
        Assert.Equal([5, 6], new[] { next.Members[Id(5)].UpNumber, next.Members[Id(6)].UpNumber });
        Assert.Equal(MemberStatus.Leaving, next.StatusOf(N2)); // hand-off not done
        Assert.Equal(MemberStatus.Exiting, next.StatusOf(N3));
        Assert.Equal(MemberStatus.Removed, next.StatusOf(N4));
        Assert.Equal(before + 1, next.Version[N1]);

        // The next convergence takes the next step.
        var after = SeenByAll(next).LeaderActions(N1);
        Assert.Equal(MemberStatus.Exiting, after.StatusOf(N2));
        Assert.Equal(MemberStatus.Removed, after.StatusOf(N3));
        var final = SeenByAll(SeenByAll(after).LeaderActions(N1));
        Assert.Equal(MemberStatus.Removed, final.StatusOf(N2));
        Assert.Same(final, final.LeaderActions(N1)); // nothing left to do
    }

    [Fact]
    public void Leader_actions_leave_an_unreachable_joiner_joining()
    {
        var state = SeenByAll(UpCluster(1, 2).Join(N1, Joining(3), MaxMembers).Join(N1, Joining(4), MaxMembers).MarkUnreachable(N2, N4));
        Assert.True(state.IsConverged);
        var next = state.LeaderActions(N1);
        Assert.Equal(MemberStatus.Up, next.StatusOf(N3));
        Assert.Equal(MemberStatus.Joining, next.StatusOf(N4));
    }

    // ---- merge rules (the algebra is in MembershipMergePropertyTests) ----

    [Fact]
    public void Down_wins_over_a_concurrent_leave()
    {
        var origin = UpCluster(1, 2, 3);
        var left = origin.Leave(N2, N2);
        var downed = origin.Down(N1, N2);
        Assert.Equal(MemberStatus.Down, left.Merge(downed).StatusOf(N2));
        Assert.Equal(MemberStatus.Down, downed.Merge(left).StatusOf(N2));
    }

    [Fact]
    public void The_later_lifecycle_stage_wins_and_the_up_number_is_the_highest()
    {
        var origin = UpCluster(1, 2).Join(N1, Joining(3), MaxMembers);
        // Two leaders of a healed partition each brought N3 up, with different up-numbers.
        var a = origin.Join(N2, Joining(4), MaxMembers).MarkUp(N2, N4).MarkUp(N2, N3);
        var b = origin.MarkUp(N1, N3).Leave(N1, N3);
        Assert.Equal((4, 3), (a.Members[N3].UpNumber, b.Members[N3].UpNumber));
        var merged = a.Merge(b);
        Assert.Equal(MemberStatus.Leaving, merged.StatusOf(N3));
        Assert.Equal(MemberStatus.Up, merged.StatusOf(N4));
        Assert.Equal(4, merged.Members[N3].UpNumber);
    }

    [Fact]
    public void Merge_keeps_the_seen_set_only_for_the_version_it_belongs_to()
    {
        var origin = UpCluster(1, 2, 3);
        var a = origin.Leave(N1, N3);
        var seenBoth = a.Seen(N2);
        Assert.Equal([N1, N2], a.Merge(seenBoth).SeenBy); // same version: union
        Assert.Equal([N1], a.Merge(origin).SeenBy); // newer wins with its own seen set
        Assert.Equal([N1], origin.Merge(a).SeenBy);
        var b = origin.MarkUnreachable(N2, N3);
        Assert.Empty(a.Merge(b).SeenBy); // concurrent: nobody has seen the merged version yet
    }

    [Fact]
    public void Merging_a_removal_drops_the_stale_reachability_rows_of_the_other_side()
    {
        var origin = SeenByAll(UpCluster(1, 2, 3).Down(N1, N3));
        var stale = origin.MarkUnreachable(N2, N3);
        var removed = origin.LeaderActions(N1);
        Assert.Equal(MemberStatus.Removed, removed.StatusOf(N3));
        var merged = stale.Merge(removed);
        Assert.Equal(MemberStatus.Removed, merged.StatusOf(N3));
        Assert.Empty(merged.Reachability.UnreachableBy(N2));
    }

    // ---- restore ----

    [Fact]
    public void A_state_rebuilt_from_its_parts_is_equal()
    {
        var state = UpCluster(1, 2, 3).MarkUnreachable(N1, N2).Leave(N1, N3).Seen(N3);
        Assert.True(MembershipState.TryRestore(
            state.Members.Values, VersionVector.From(state.Version.Counters), ReachabilityTable.From(state.Reachability.Observers),
            state.SeenBy, out var restored, out var problem), problem);
        Assert.Equal(state, restored);
        Assert.Equal(state.GetHashCode(), restored.GetHashCode());
    }

    [Fact]
    public void A_state_that_breaks_an_invariant_is_refused_on_restore()
    {
        var state = UpCluster(1, 2);
        var members = state.Members.Values.ToList();
        var row = new ObserverRecord(1, [N2]);

        Assert.False(MembershipState.TryRestore(members, state.Version, state.Reachability, [N4], out _, out var p1));
        Assert.Contains("seen-by", p1);
        Assert.False(MembershipState.TryRestore(members.Append(members[0]), state.Version, state.Reachability, [], out _, out var p2));
        Assert.Contains("twice", p2);
        Assert.False(MembershipState.TryRestore(members, state.Version, ReachabilityTable.From([new(N4, row)]), [], out _, out var p3));
        Assert.Contains("row", p3);
        Assert.False(MembershipState.TryRestore(members, state.Version, ReachabilityTable.From([new(N2, row)]), [], out _, out var p4));
        Assert.Contains("itself", p4);
        Assert.False(MembershipState.TryRestore(members, state.Version, ReachabilityTable.From([new(N1, new ObserverRecord(1, [N3]))]), [], out _, out var p5));
        Assert.Contains("not a current member", p5);
    }
}
