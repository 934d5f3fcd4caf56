using Memo.Node.Raft;
using Memo.Node.Shards.Hosting;
using Memo.Node.Shards.Replicated;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// When the shard host retires a replica of a shard the ring no longer places on its node (the pure decision). The
/// removed learner case is the one a four-node start stuck on: the learner keeps its old leader for good, since it is
/// never told of its removal and never campaigns (ShardGroups.RemovedReplicaTests shows it on real replicas).
/// </summary>
public sealed class ReplicaRetirementTests
{
    private static readonly NodeId Self = new(4), Leader = new(1), B = new(2), C = new(3);
    private static readonly DateTime Now = new(2026, 12, 7, 23, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Recent = TimeSpan.FromSeconds(1);

    private static ShardGroupStatus Status(RaftRole role, ulong term, NodeId leader, RaftMembership membership) =>
        new(new ShardId(0), Self, role, new Term(term), leader, new LogIndex(9), new LogIndex(9), new LogIndex(2), new LogIndex(9), new LogIndex(1),
            membership, null);

    private static ReplicaReport Report(ulong term, RaftMembership membership, TimeSpan age = default) =>
        new(new ShardId(0), Leader, true, Leader, new Term(term), new LogIndex(10), membership, Now - age);

    private static readonly RaftMembership WithoutSelf = RaftMembership.Create([Leader, B, C]);

    private static bool LeftGroup(ShardGroupStatus status, ReplicaReport? report) => ReplicaRetirement.LeftGroup(Self, status, report, Now, Recent);

    [Fact]
    public void A_removed_learner_that_still_names_its_old_leader_is_retired_on_a_recent_leader_report()
    {
        // The stuck state: a learner in its own configuration, following the leader that removed it without telling it.
        var stale = Status(RaftRole.Follower, 2, Leader, RaftMembership.Create([Leader, B, C], [Self]));

        Assert.True(LeftGroup(stale, Report(2, WithoutSelf)));
    }

    [Fact]
    public void A_learner_is_kept_while_the_leader_counts_it_or_no_recent_report_of_its_term_says_otherwise()
    {
        var learner = Status(RaftRole.Follower, 2, Leader, RaftMembership.Create([Leader, B, C], [Self]));

        Assert.False(LeftGroup(learner, null));
        Assert.False(LeftGroup(learner, Report(2, RaftMembership.Create([Leader, B, C], [Self]))));
        Assert.False(LeftGroup(learner, Report(1, WithoutSelf)));
        Assert.False(LeftGroup(learner, Report(2, WithoutSelf, age: TimeSpan.FromSeconds(2))));
    }

    [Fact]
    public void A_voter_that_still_hears_a_leader_is_kept_whatever_a_report_says_and_retired_once_leaderless()
    {
        var voters = RaftMembership.Create([Leader, B, Self]);

        Assert.False(LeftGroup(Status(RaftRole.Follower, 2, Leader, voters), Report(2, WithoutSelf)));
        Assert.True(LeftGroup(Status(RaftRole.PreCandidate, 2, NodeId.None, voters), Report(2, WithoutSelf)));
        // A campaign that raised its term past the report's: the report may predate what the replica saw.
        Assert.False(LeftGroup(Status(RaftRole.Candidate, 3, NodeId.None, voters), Report(2, WithoutSelf)));
    }

    [Fact]
    public void A_replica_whose_own_configuration_leaves_it_out_is_retired_and_one_without_a_configuration_follows_the_report()
    {
        Assert.True(LeftGroup(Status(RaftRole.Follower, 2, Leader, WithoutSelf), null));

        var joining = Status(RaftRole.Follower, 0, NodeId.None, RaftMembership.Empty);
        Assert.False(LeftGroup(joining, null));
        Assert.True(LeftGroup(joining, Report(2, WithoutSelf, age: TimeSpan.FromSeconds(4))));
        Assert.False(LeftGroup(joining, Report(2, RaftMembership.Create([Leader, B], [Self]))));
    }

    [Fact]
    public void A_leader_is_never_retired_here_it_hands_leadership_off_first()
    {
        var leading = Status(RaftRole.Leader, 2, Self, RaftMembership.Create([Self, B, C]));

        Assert.False(LeftGroup(leading, Report(2, WithoutSelf)));
    }
}
