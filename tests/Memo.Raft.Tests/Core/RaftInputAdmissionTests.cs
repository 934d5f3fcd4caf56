using Memo.Node;
using Memo.Node.Raft;

namespace Memo.Raft.Tests.Core;

/// <summary>
/// Which peers' Raft messages a replica accepts (<see cref="RaftInputAdmission"/>): the pure decision, and the core's
/// view of its group (configurations in force, a joining replica, how long no known leader was heard).
/// </summary>
public sealed class RaftInputAdmissionTests
{
    private const int LeaderlessTicks = 30;

    private static readonly NodeId Stranger = new(9);

    private static readonly RaftMembership Three = RaftMembership.Create([new NodeId(1), new NodeId(2), new NodeId(3)]);

    private static readonly RaftMessageKind[] LeaderTraffic = [RaftMessageKind.Append, RaftMessageKind.Heartbeat, RaftMessageKind.Snapshot];

    private static readonly RaftMessageKind[] VoteRequests = [RaftMessageKind.Vote, RaftMessageKind.PreVote];

    private static readonly RaftMessageKind[] OnlyFromKnownSenders =
    [
        RaftMessageKind.AppendResponse, RaftMessageKind.HeartbeatResponse, RaftMessageKind.VoteResponse, RaftMessageKind.PreVoteResponse,
        RaftMessageKind.TimeoutNow, RaftMessageKind.ReadIndex, RaftMessageKind.ReadIndexResponse,
    ];

    [Fact]
    public void Every_kind_from_a_known_member_or_a_placed_replica_is_admitted_and_nothing_from_a_stranger_of_a_group_with_a_leader()
    {
        var view = View(known: [1, 2, 3], placed: [4], ticksWithoutLeader: 0);
        foreach (var kind in Enum.GetValues<RaftMessageKind>())
        {
            Assert.Equal(RaftAdmission.Member, RaftInputAdmission.Decide(kind, new NodeId(2), view));
            Assert.Equal(RaftAdmission.Placed, RaftInputAdmission.Decide(kind, new NodeId(4), view));
            Assert.Equal(RaftAdmission.Refused, RaftInputAdmission.Decide(kind, Stranger, view));
        }
    }

    [Fact]
    public void A_joining_replica_admits_leader_traffic_from_anyone_but_no_vote_request_or_response()
    {
        var view = View(known: [], placed: [], ticksWithoutLeader: 0, uninitialized: true);
        foreach (var kind in LeaderTraffic)
        {
            Assert.Equal(RaftAdmission.Joining, RaftInputAdmission.Decide(kind, Stranger, view));
        }

        foreach (var kind in VoteRequests.Concat(OnlyFromKnownSenders))
        {
            Assert.Equal(RaftAdmission.Refused, RaftInputAdmission.Decide(kind, Stranger, view));
        }
    }

    [Fact]
    public void A_replica_without_a_known_leader_for_long_enough_admits_strangers_leader_traffic_and_vote_requests_only()
    {
        var almost = View(known: [1, 2, 3], placed: [], ticksWithoutLeader: LeaderlessTicks - 1);
        var leaderless = View(known: [1, 2, 3], placed: [], ticksWithoutLeader: LeaderlessTicks);
        foreach (var kind in LeaderTraffic.Concat(VoteRequests))
        {
            Assert.Equal(RaftAdmission.Refused, RaftInputAdmission.Decide(kind, Stranger, almost));
            Assert.Equal(RaftAdmission.Leaderless, RaftInputAdmission.Decide(kind, Stranger, leaderless));
        }

        foreach (var kind in OnlyFromKnownSenders)
        {
            Assert.Equal(RaftAdmission.Refused, RaftInputAdmission.Decide(kind, Stranger, leaderless));
        }
    }

    [Fact]
    public void A_stranger_claiming_leadership_of_the_current_term_is_refused_instead_of_stopping_the_replica()
    {
        var node = Follower(3);
        node.Step(Heartbeat(from: 1, term: 1));
        var usurper = Heartbeat(from: 9, term: 1);
        Assert.Equal(RaftAdmission.Refused, node.Admit(usurper));
        // What the refusal prevents: stepped, the message is a second leader of term 1 and stops the replica.
        Assert.Throws<RaftInvariantException>(() => node.Step(usurper));
    }

    [Fact]
    public void A_stranger_with_a_higher_term_is_refused_while_a_known_leader_is_heard()
    {
        var node = Follower(3);
        var takeover = Append(from: 9, term: 7, prevIndex: 0, prevTerm: 0, entries: []);
        for (var i = 0; i < 10 * LeaderlessTicks; i++)
        {
            node.Step(Heartbeat(from: 1, term: 1));
            node.Tick();
            Assert.Equal(RaftAdmission.Refused, node.Admit(takeover));
            Assert.Equal(RaftAdmission.Refused, node.Admit(new RaftMessage { Kind = RaftMessageKind.Vote, From = Stranger, To = new NodeId(3), Term = new Term(7) }));
        }

        Assert.Equal(RaftAdmission.Placed, node.Admit(takeover, n => n == Stranger));
    }

    [Fact]
    public void A_follower_with_a_stale_configuration_admits_the_newer_configurations_leader_once_no_known_leader_is_heard()
    {
        // Follower 3 knows the group {1,2,3}; node 4 joined and leads term 2 since, while 3 was cut off.
        var node = Follower(3);
        node.Step(Heartbeat(from: 1, term: 1));
        var probe = Append(from: 4, term: 2, prevIndex: 0, prevTerm: 0, entries: []);
        for (var i = 0; i < LeaderlessTicks - 1; i++)
        {
            node.Tick();
            Assert.Equal(RaftAdmission.Refused, node.Admit(probe));
        }

        // Campaigning without winning does not count as hearing a leader: the replica still gets there.
        node.Tick();
        Assert.Equal(RaftAdmission.Leaderless, node.Admit(probe));

        // The leader's append carries the configuration that adds it: from then on it is a known member.
        var addFour = new RaftEntry(new LogIndex(1), new Term(2), RaftEntryKind.ConfigChange, new ConfigChange(ConfigChangeKind.AddLearner, new NodeId(4)).Encode());
        node.Step(Append(from: 4, term: 2, prevIndex: 0, prevTerm: 0, entries: [addFour]));
        Assert.Equal(new NodeId(4), node.Leader);
        Assert.Equal(RaftAdmission.Member, node.Admit(Heartbeat(from: 4, term: 2)));

        // Hearing it as a known leader closes the door to strangers again.
        Assert.Equal(RaftAdmission.Leaderless, node.Admit(Heartbeat(from: 9, term: 2)));
        node.Step(Heartbeat(from: 4, term: 2));
        Assert.Equal(RaftAdmission.Refused, node.Admit(Heartbeat(from: 9, term: 2)));
    }

    [Fact]
    public void A_removed_member_is_heard_until_its_removal_commits()
    {
        var node = Follower(3);
        var removeOne = new RaftEntry(new LogIndex(1), new Term(1), RaftEntryKind.ConfigChange, new ConfigChange(ConfigChangeKind.Remove, new NodeId(1)).Encode());
        node.Step(Append(from: 1, term: 1, prevIndex: 0, prevTerm: 0, entries: [removeOne]));
        Assert.False(node.Membership.Contains(new NodeId(1)));
        Assert.Equal(RaftAdmission.Member, node.Admit(Heartbeat(from: 1, term: 1)));

        node.Step(Heartbeat(from: 1, term: 1, commit: 1));
        Assert.Equal(new LogIndex(1), node.CommitIndex);
        Assert.Equal(RaftAdmission.Refused, node.Admit(Heartbeat(from: 1, term: 1)));
    }

    [Fact]
    public void A_joining_replica_admits_the_snapshot_of_a_leader_it_cannot_know_yet()
    {
        var node = new RaftNode(new RaftConfig { Id = new NodeId(4), ElectionTicks = LeaderlessTicks / 3 }, new MemoryRaftLogStore());
        var snapshot = new RaftMessage
        {
            Kind = RaftMessageKind.Snapshot,
            From = new NodeId(1),
            To = new NodeId(4),
            Term = new Term(3),
            Snapshot = new RaftSnapshot(new SnapshotMetadata(new LogIndex(5), new Term(2), RaftMembership.Create([new NodeId(1), new NodeId(2), new NodeId(3)], [new NodeId(4)])), []),
        };
        Assert.Equal(RaftAdmission.Joining, node.Admit(snapshot));
        Assert.Equal(RaftAdmission.Refused, node.Admit(new RaftMessage { Kind = RaftMessageKind.Vote, From = new NodeId(1), To = new NodeId(4), Term = new Term(3) }));

        node.Step(snapshot);
        Assert.Equal(RaftAdmission.Member, node.Admit(Heartbeat(from: 1, term: 3, to: 4)));
        Assert.Equal(RaftAdmission.Refused, node.Admit(Heartbeat(from: 9, term: 3, to: 4)));
    }

    private static RaftAdmissionView View(ulong[] known, ulong[] placed, int ticksWithoutLeader, bool uninitialized = false) =>
        new(known.Select(n => new NodeId(n)).ToHashSet().Contains, placed.Select(n => new NodeId(n)).ToHashSet().Contains, uninitialized, ticksWithoutLeader, LeaderlessTicks);

    private static RaftNode Follower(ulong id) =>
        new(new RaftConfig { Id = new NodeId(id), ElectionTicks = LeaderlessTicks / 3 }, MemoryRaftLogStore.Bootstrap(Three));

    private static RaftMessage Heartbeat(ulong from, ulong term, ulong commit = 0, ulong to = 3) => new()
    {
        Kind = RaftMessageKind.Heartbeat,
        From = new NodeId(from),
        To = new NodeId(to),
        Term = new Term(term),
        Commit = new LogIndex(commit),
    };

    private static RaftMessage Append(ulong from, ulong term, ulong prevIndex, ulong prevTerm, IReadOnlyList<RaftEntry> entries) => new()
    {
        Kind = RaftMessageKind.Append,
        From = new NodeId(from),
        To = new NodeId(3),
        Term = new Term(term),
        Index = new LogIndex(prevIndex),
        LogTerm = new Term(prevTerm),
        Entries = entries,
    };
}
