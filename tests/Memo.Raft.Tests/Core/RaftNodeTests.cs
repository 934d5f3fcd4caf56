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

    // Regression (fresh seed 726086517918477, 5 voters, Pauses): a follower's Ready was being written when a newer
    // leader replaced a suffix of its entries with a shorter one; the acknowledgement of the whole Ready was then
    // ignored, so the entries it had made durable stayed in the unstable tail. Once the host had applied and compacted
    // them, the tail started below the store's first index: the next Ready rewrote compacted entries whose
    // predecessor's term was no longer known ("term of 39 unknown while appending 40").
    [Fact]
    public void Entries_written_while_a_newer_leader_replaced_their_suffix_become_stable()
    {
        var store = MemoryRaftLogStore.Bootstrap(Three);
        var node = new RaftNode(new RaftConfig { Id = new NodeId(2) }, store);
        node.Step(Append(from: 1, term: 1, prevIndex: 0, prevTerm: 0, commit: 3, Entries(1, 5, term: 1)));
        var inFlight = node.GetReady();
        Assert.Equal(5, inFlight.Entries.Count);
        Assert.Equal(3, inFlight.CommittedEntries.Count);

        // Before the host has finished writing: leader 3 of term 2 keeps 1-3 and replaces 4-5 by one entry.
        node.Step(Append(from: 3, term: 2, prevIndex: 3, prevTerm: 1, commit: 3, Entries(4, 4, term: 2)));
        store.Save(inFlight);
        node.Advance(inFlight);
        Assert.Equal(new LogIndex(3), node.AppliedIndex);

        // The host snapshots what it applied and compacts the log through it, as it may.
        var metadata = Assert.IsType<SnapshotMetadata>(node.SnapshotMetadataAt(new LogIndex(3)));
        store.CreateSnapshot(new RaftSnapshot(metadata, []), new LogIndex(3));

        var next = node.GetReady();
        var rewritten = Assert.Single(next.Entries);
        Assert.Equal((new LogIndex(4), new Term(2)), (rewritten.Index, rewritten.Term));
        Assert.True(node.TryGetTerm(new LogIndex(3), out var before) && before == new Term(1));
        store.Save(next);
        node.Advance(next);
        Assert.Equal(new LogIndex(4), store.LastIndex);
        Assert.True(store.TryGetTerm(new LogIndex(4), out var stored) && stored == new Term(2));
        Assert.False(node.HasReady);
    }

    [Fact]
    public void Entries_written_while_a_newer_leader_replaced_them_from_below_stay_unstable()
    {
        var store = MemoryRaftLogStore.Bootstrap(Three);
        var node = new RaftNode(new RaftConfig { Id = new NodeId(2) }, store);
        node.Step(Append(from: 1, term: 1, prevIndex: 0, prevTerm: 0, commit: 1, Entries(1, 2, term: 1)));
        var first = node.GetReady();
        store.Save(first);
        node.Advance(first);
        node.Step(Append(from: 1, term: 1, prevIndex: 2, prevTerm: 1, commit: 1, Entries(3, 4, term: 1)));
        var inFlight = node.GetReady();

        // Leader 3 of term 2 replaces 2-4 while 3-4 are being written: none of what the Ready wrote is in the log now.
        node.Step(Append(from: 3, term: 2, prevIndex: 1, prevTerm: 1, commit: 1, Entries(2, 2, term: 2)));
        store.Save(inFlight);
        node.Advance(inFlight);

        var next = node.GetReady();
        var replacement = Assert.Single(next.Entries);
        Assert.Equal((new LogIndex(2), new Term(2)), (replacement.Index, replacement.Term));
        store.Save(next);
        node.Advance(next);
        Assert.Equal(new LogIndex(2), store.LastIndex);
        Assert.True(store.TryGetTerm(new LogIndex(2), out var stored) && stored == new Term(2));
    }

    private static RaftMessage Append(ulong from, ulong term, ulong prevIndex, ulong prevTerm, ulong commit, IReadOnlyList<RaftEntry> entries) => new()
    {
        Kind = RaftMessageKind.Append,
        From = new NodeId(from),
        To = new NodeId(2),
        Term = new Term(term),
        Index = new LogIndex(prevIndex),
        LogTerm = new Term(prevTerm),
        Commit = new LogIndex(commit),
        Entries = entries,
    };

    private static RaftEntry[] Entries(ulong first, ulong last, ulong term) =>
        Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => new RaftEntry(new LogIndex((ulong)i), new Term(term), RaftEntryKind.Normal, [(byte)i])).ToArray();
}
