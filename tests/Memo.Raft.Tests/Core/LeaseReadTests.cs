using Memo.Node;
using Memo.Node.Raft;

namespace Memo.Raft.Tests.Core;

/// <summary>
/// Leader leases for reads (<see cref="RaftConfig.LeaseReads"/>): when a read is answered without a heartbeat round,
/// and every case where it must not be (clock past the lease, a transfer started, a configuration change), plus the
/// voters' side of the promise (a restarted replica does not help elect anyone for an election timeout).
/// </summary>
public sealed class LeaseReadTests
{
    private static readonly NodeId N1 = new(1);
    private static readonly NodeId N2 = new(2);
    private static readonly NodeId N3 = new(3);

    [Fact]
    public void A_leader_whose_heartbeats_a_quorum_acknowledged_answers_a_read_without_a_round()
    {
        var group = LeaseGroup.WithLeader(leaseReads: true);
        group.TickAll(2); // periodic heartbeats carry lease rounds; followers acknowledge them

        Assert.True(group.Leader.HoldsReadLease);
        var read = group.Leader.ReadIndex([7]);
        Assert.True(read.IsAccepted);
        var ready = group.Leader.GetReady();
        var state = Assert.Single(ready.ReadStates);
        Assert.Equal(group.Leader.CommitIndex, state.Index);
        Assert.DoesNotContain(ready.AllMessages, m => m.Kind == RaftMessageKind.Heartbeat);
        group.Leader.Advance(ready);
    }

    [Fact]
    public void Without_lease_reads_every_read_needs_a_heartbeat_round()
    {
        var group = LeaseGroup.WithLeader(leaseReads: false);
        group.TickAll(2);

        Assert.False(group.Leader.HoldsReadLease);
        group.Leader.ReadIndex([7]);
        var ready = group.Leader.GetReady();
        Assert.Empty(ready.ReadStates);
        Assert.Equal(2, ready.AllMessages.Count(m => m.Kind == RaftMessageKind.Heartbeat && m.Context is [7]));
        group.Leader.Advance(ready);
    }

    [Fact]
    public void A_pause_longer_than_the_lease_ends_it_even_though_no_tick_was_counted()
    {
        var group = LeaseGroup.WithLeader(leaseReads: true);
        group.TickAll(2);
        Assert.True(group.Leader.HoldsReadLease);

        // The leader's process was stopped: its ticks were lost, but the monotonic clock moved on.
        group.Now += group.Config(N1).LeaseTicks + 1;
        group.Leader.AdvanceClock(group.Now);

        Assert.False(group.Leader.HoldsReadLease);
        group.Leader.ReadIndex([9]);
        var ready = group.Leader.GetReady();
        Assert.Empty(ready.ReadStates);
        Assert.Contains(ready.AllMessages, m => m.Kind == RaftMessageKind.Heartbeat && m.Context is [9]);
        group.Leader.Advance(ready);

        // The round it had to run renews the lease.
        group.Deliver(ready.AllMessages);
        group.Pump();
        Assert.True(group.Leader.HoldsReadLease);
    }

    [Fact]
    public void The_lease_is_counted_from_when_the_round_began_not_from_when_it_was_acknowledged()
    {
        var group = LeaseGroup.WithLeader(leaseReads: true);
        group.Now += 100; // long after the election: no lease left
        group.Leader.AdvanceClock(group.Now);
        Assert.False(group.Leader.HoldsReadLease);

        var began = group.Now;
        group.Leader.ReadIndex([1]);
        var ready = group.Leader.GetReady();
        group.Leader.Advance(ready);
        var heartbeats = ready.AllMessages.ToList();
        // The acknowledgements take almost the whole lease to come back.
        group.Now = began + group.Config(N1).LeaseTicks - 0.5;
        group.Deliver(heartbeats);
        group.Pump();
        Assert.True(group.Leader.HoldsReadLease);

        group.Now = began + group.Config(N1).LeaseTicks + 0.01;
        group.Leader.AdvanceClock(group.Now);
        Assert.False(group.Leader.HoldsReadLease);
    }

    [Fact]
    public void A_leadership_transfer_gives_the_lease_up_for_the_rest_of_the_term()
    {
        var group = LeaseGroup.WithLeader(leaseReads: true);
        group.TickAll(2);
        Assert.True(group.Leader.HoldsReadLease);

        group.Isolate(N2); // the transfer to 2 never completes
        group.Leader.TransferLeadership(N2);
        Assert.False(group.Leader.HoldsReadLease);
        group.Pump();
        // Abandoned after an election timeout; heartbeats keep being acknowledged by 3, yet no lease in this term.
        group.TickAll(group.Config(N1).ElectionTicks + 2);
        Assert.Equal(RaftRole.Leader, group.Leader.Role);
        Assert.False(group.Leader.HoldsReadLease);
    }

    [Fact]
    public void A_configuration_change_forgets_a_lease_gathered_under_the_old_configuration()
    {
        var group = LeaseGroup.WithLeader(leaseReads: true);
        group.TickAll(2);
        Assert.True(group.Leader.HoldsReadLease);

        Assert.True(group.Leader.ProposeConfigChange(new ConfigChange(ConfigChangeKind.Remove, N3)).IsAccepted);
        Assert.False(group.Leader.HoldsReadLease);
        group.Pump();
        group.TickAll(2);
        Assert.True(group.Leader.HoldsReadLease); // earned again under the new configuration
    }

    [Fact]
    public void A_restarted_replica_ignores_vote_requests_for_an_election_timeout_when_leases_are_on()
    {
        foreach (var leaseReads in new[] { true, false })
        {
            var config = new RaftConfig { Id = N2, LeaseReads = leaseReads };
            var node = new RaftNode(config, MemoryRaftLogStore.Bootstrap(RaftMembership.Create([N1, N2, N3])));
            var vote = new RaftMessage { Kind = RaftMessageKind.PreVote, From = N3, To = N2, Term = new Term(1) };

            node.Step(vote);
            var answered = node.HasReady && node.GetReady().AllMessages.Any(m => m.Kind == RaftMessageKind.PreVoteResponse && !m.Reject);
            Assert.Equal(!leaseReads, answered);
        }

        var restarted = new RaftNode(new RaftConfig { Id = N2, LeaseReads = true }, MemoryRaftLogStore.Bootstrap(RaftMembership.Create([N1, N2, N3])));
        for (var i = 0; i < new RaftConfig { Id = N2 }.ElectionTicks; i++)
        {
            restarted.Tick();
        }

        if (restarted.HasReady)
        {
            restarted.Advance(restarted.GetReady());
        }

        restarted.Step(new RaftMessage { Kind = RaftMessageKind.PreVote, From = N3, To = N2, Term = new Term(1) });
        Assert.Contains(restarted.GetReady().AllMessages, m => m.Kind == RaftMessageKind.PreVoteResponse && !m.Reject);
    }

    [Fact]
    public void Lease_reads_need_CheckQuorum_and_room_for_the_margin()
    {
        var errors = new RaftConfig { Id = N1, LeaseReads = true, CheckQuorum = false, ElectionTicks = 3, HeartbeatTicks = 1 }.Validate();
        Assert.Contains(errors, e => e.Contains("CheckQuorum"));
        Assert.Contains(errors, e => e.Contains("ElectionTicks >= 4"));
    }

    [Fact]
    public void A_voter_moved_into_a_candidates_term_right_after_hearing_the_leader_still_refuses_that_candidate()
    {
        var (node, _) = FollowerPastItsStartup();

        // Right after the leader's heartbeat, the candidate's answer to a pre-vote this replica sent earlier carries
        // the candidate's term: the replica moves into it, with no leader, and the candidate asks for its vote there.
        node.Step(new RaftMessage { Kind = RaftMessageKind.PreVoteResponse, From = N3, To = N2, Term = new Term(2), Reject = true });
        node.Step(new RaftMessage { Kind = RaftMessageKind.Vote, From = N3, To = N2, Term = new Term(2), Index = node.LastIndex, LogTerm = new Term(1) });

        Assert.Equal(new Term(2), node.Term);
        Assert.NotEqual(N3, node.Vote);
        Assert.DoesNotContain(Drain(node), m => m.Kind == RaftMessageKind.VoteResponse && !m.Reject);
    }

    [Fact]
    public void A_voter_counts_its_side_of_the_lease_by_its_clock_too_whatever_order_the_host_steps_ticks_in()
    {
        foreach (var ticksOnly in new[] { false, true })
        {
            var (node, now) = FollowerPastItsStartup(ticksOnly ? RaftFaults.VoterLeaseTimedByTicksOnly : RaftFaults.None);

            // A stalled host steps, after the heartbeat, three ticks that passed before it, then seven more at
            // +0.5 ... +6.5: ten ticks since the heartbeat by count, 6.5 by the clock (the lease lasts 7 from its send).
            for (var i = 0; i < 3; i++)
            {
                node.Tick();
            }

            for (var i = 0; i < 7; i++)
            {
                node.AdvanceClock(now + 0.5 + i);
                node.Tick();
            }

            node.Step(new RaftMessage { Kind = RaftMessageKind.PreVote, From = N3, To = N2, Term = new Term(2), Index = node.LastIndex, LogTerm = new Term(1) });
            node.Step(new RaftMessage { Kind = RaftMessageKind.Vote, From = N3, To = N2, Term = new Term(2), Index = node.LastIndex, LogTerm = new Term(1) });
            var granted = Drain(node).Any(m => m.Kind is RaftMessageKind.VoteResponse or RaftMessageKind.PreVoteResponse && !m.Reject && m.From == N2 && m.To == N3);

            // With the clock the voter neither grants nor campaigns; by its ticks alone it is free already.
            Assert.Equal(ticksOnly, granted || node.Role != RaftRole.Follower);
        }
    }

    // A follower of N1 (term 1) with leases on, past its startup lease, that has just heard N1 at the returned time.
    private static (RaftNode Node, double Now) FollowerPastItsStartup(RaftFaults faults = RaftFaults.None)
    {
        var config = new RaftConfig { Id = N2, LeaseReads = true, CheckQuorum = true, PreVote = true, Faults = faults };
        var node = new RaftNode(config, MemoryRaftLogStore.Bootstrap(RaftMembership.Create([N1, N2, N3])));
        var now = 0.0;
        for (var i = 0; i <= config.ElectionTicks; i++)
        {
            now += 1;
            node.AdvanceClock(now);
            node.Tick();
            node.Step(new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = N1, To = N2, Term = new Term(1) });
            Drain(node);
        }

        Assert.Equal(N1, node.Leader);
        return (node, now);
    }

    private static List<RaftMessage> Drain(RaftNode node)
    {
        var messages = new List<RaftMessage>();
        while (node.HasReady)
        {
            var ready = node.GetReady();
            messages.AddRange(ready.AllMessages);
            node.Advance(ready);
        }

        return messages;
    }

    /// <summary>Three replicas in memory with a shared clock, in-order delivery and per-node isolation.</summary>
    private sealed class LeaseGroup
    {
        private readonly Dictionary<NodeId, (RaftNode Node, MemoryRaftLogStore Store, RaftConfig Config)> _replicas = [];
        private readonly HashSet<NodeId> _isolated = [];
        private readonly Queue<RaftMessage> _network = new();

        public double Now { get; set; }

        public RaftNode Leader => _replicas[N1].Node;

        public static LeaseGroup WithLeader(bool leaseReads)
        {
            var group = new LeaseGroup();
            var membership = RaftMembership.Create([N1, N2, N3]);
            foreach (var id in new[] { N1, N2, N3 })
            {
                var config = new RaftConfig { Id = id, LeaseReads = leaseReads, RandomSeed = 7 };
                var store = MemoryRaftLogStore.Bootstrap(membership);
                group._replicas[id] = (new RaftNode(config, store), store, config);
            }

            // Past every replica's startup lease, then node 1 campaigns.
            group.TickAllWithoutCampaign(group.Config(N1).ElectionTicks);
            group.Leader.Campaign();
            group.Pump();
            Assert.Equal(RaftRole.Leader, group.Leader.Role);
            return group;
        }

        public RaftConfig Config(NodeId id) => _replicas[id].Config;

        public void Isolate(NodeId id) => _isolated.Add(id);

        public void TickAll(int ticks)
        {
            for (var i = 0; i < ticks; i++)
            {
                Now += 1;
                foreach (var (node, _, _) in _replicas.Values)
                {
                    node.AdvanceClock(Now);
                    node.Tick();
                }

                Pump();
            }
        }

        public void Deliver(IEnumerable<RaftMessage> messages)
        {
            foreach (var m in messages)
            {
                _network.Enqueue(m);
            }
        }

        public void Pump()
        {
            while (true)
            {
                foreach (var (node, store, _) in _replicas.Values)
                {
                    while (node.HasReady)
                    {
                        var ready = node.GetReady();
                        store.Save(ready);
                        Deliver(ready.AllMessages);
                        node.Advance(ready);
                    }
                }

                if (_network.Count == 0)
                {
                    return;
                }

                while (_network.TryDequeue(out var m))
                {
                    if (_isolated.Contains(m.From) || _isolated.Contains(m.To))
                    {
                        continue;
                    }

                    var target = _replicas[m.To].Node;
                    target.AdvanceClock(Now);
                    target.Step(m);
                }
            }
        }

        // Followers must not time out and campaign on their own while the test sets up its leader.
        private void TickAllWithoutCampaign(int ticks)
        {
            for (var i = 0; i < ticks; i++)
            {
                Now += 1;
                foreach (var (node, _, _) in _replicas.Values)
                {
                    node.AdvanceClock(Now);
                    node.Tick();
                }
            }

            foreach (var (node, store, _) in _replicas.Values)
            {
                while (node.HasReady)
                {
                    var ready = node.GetReady();
                    store.Save(ready);
                    node.Advance(ready);
                }
            }
        }
    }
}
