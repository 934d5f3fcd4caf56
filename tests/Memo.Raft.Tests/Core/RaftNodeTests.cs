using Memo.Node;
using Memo.Node.Raft;

namespace Memo.Raft.Tests.Core;

/// <summary>Unit tests of the core's contract: options validation, the Ready/Advance protocol and invariant checks.</summary>
public sealed class RaftNodeTests
{
    private static readonly RaftMembership Three = RaftMembership.Create([new NodeId(1), new NodeId(2), new NodeId(3)]);

    [Fact]
    public void Config_validation_reports_every_problem_at_once()
    {
        var errors = new RaftConfig { Id = NodeId.None, HeartbeatTicks = 0, ElectionTicks = 0, MaxInflightAppends = 0 }.Validate();
        Assert.Contains(errors, e => e.Contains("Id"));
        Assert.Contains(errors, e => e.Contains("HeartbeatTicks"));
        Assert.Contains(errors, e => e.Contains("ElectionTicks"));
        Assert.Contains(errors, e => e.Contains("MaxInflightAppends"));
        Assert.Throws<ArgumentException>(() => new RaftNode(new RaftConfig { Id = new NodeId(1), ElectionTicks = 1 }, MemoryRaftLogStore.Bootstrap(Three)));
    }

    [Fact]
    public void A_second_Ready_before_Advance_is_refused()
    {
        var node = new RaftNode(new RaftConfig { Id = new NodeId(1) }, MemoryRaftLogStore.Bootstrap(Three));
        node.Campaign();
        var ready = node.GetReady();
        Assert.False(node.HasReady);
        Assert.Throws<InvalidOperationException>(() => node.GetReady());
        node.Advance(ready);
    }

    [Fact]
    public void Follower_answers_an_append_with_a_stale_term_with_its_newer_term()
    {
        var store = MemoryRaftLogStore.Bootstrap(Three);
        store.SetHardState(new HardState(new Term(5), NodeId.None, LogIndex.Zero));
        var node = new RaftNode(new RaftConfig { Id = new NodeId(2) }, store);
        node.Step(new RaftMessage { Kind = RaftMessageKind.Append, From = new NodeId(1), To = new NodeId(2), Term = new Term(3) });
        var reply = Assert.Single(node.GetReady().AllMessages);
        Assert.Equal(RaftMessageKind.AppendResponse, reply.Kind);
        Assert.Equal(new Term(5), reply.Term);
        Assert.Equal(new Term(5), node.Term);
    }

    [Fact]
    public void A_heartbeat_claiming_a_commit_beyond_the_log_stops_the_replica()
    {
        var node = new RaftNode(new RaftConfig { Id = new NodeId(2) }, MemoryRaftLogStore.Bootstrap(Three));
        var bogus = new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = new NodeId(1), To = new NodeId(2), Term = new Term(1), Commit = new LogIndex(7) };
        Assert.Throws<RaftInvariantException>(() => node.Step(bogus));
    }

    [Fact]
    public void Two_leaders_in_one_term_stop_the_replica()
    {
        var node = new RaftNode(new RaftConfig { Id = new NodeId(3) }, MemoryRaftLogStore.Bootstrap(Three));
        node.Step(new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = new NodeId(1), To = new NodeId(3), Term = new Term(1) });
        var second = new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = new NodeId(2), To = new NodeId(3), Term = new Term(1) };
        Assert.Throws<RaftInvariantException>(() => node.Step(second));
    }

    [Fact]
    public void A_message_for_another_replica_is_a_host_bug()
    {
        var node = new RaftNode(new RaftConfig { Id = new NodeId(1) }, MemoryRaftLogStore.Bootstrap(Three));
        Assert.Throws<ArgumentException>(() => node.Step(new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = new NodeId(2), To = new NodeId(3), Term = new Term(1) }));
    }

    [Fact]
    public void Proposals_and_reads_at_a_follower_are_refused_with_the_leader_hint()
    {
        var node = new RaftNode(new RaftConfig { Id = new NodeId(2) }, MemoryRaftLogStore.Bootstrap(Three));
        node.Step(new RaftMessage { Kind = RaftMessageKind.Heartbeat, From = new NodeId(1), To = new NodeId(2), Term = new Term(1) });
        var result = node.Propose([1]);
        Assert.Equal(ProposeOutcome.NotLeader, result.Outcome);
        Assert.Equal(new NodeId(1), result.LeaderHint);
    }

    [Fact]
    public void Same_seed_and_inputs_give_the_same_outputs()
    {
        static string Run()
        {
            var node = new RaftNode(new RaftConfig { Id = new NodeId(1), RandomSeed = 42 }, MemoryRaftLogStore.Bootstrap(Three));
            var log = new List<string>();
            for (var i = 0; i < 100; i++)
            {
                node.Tick();
                if (node.HasReady)
                {
                    var ready = node.GetReady();
                    log.AddRange(ready.AllMessages.Select(m => $"{i}:{m}"));
                    node.Advance(ready);
                }
            }

            return string.Join("\n", log);
        }

        var first = Run();
        Assert.NotEmpty(first);
        Assert.Equal(first, Run());
    }
}
