using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

public sealed class GossipProtocolTests
{
    private static readonly NodeId N1 = Id(1), N2 = Id(2), N3 = Id(3), N4 = Id(4);

    [Fact]
    public void A_status_is_answered_by_comparing_versions()
    {
        var state = UpCluster(1, 2, 3);
        var newer = state.Leave(N2, N2);
        var concurrent = state.MarkUnreachable(N3, N1);
        Assert.Equal(GossipReply.None, GossipProtocol.OnStatus(state, GossipProtocol.StatusOf(N2, state)));
        Assert.Equal(GossipReply.RequestState, GossipProtocol.OnStatus(state, GossipProtocol.StatusOf(N2, newer)));
        Assert.Equal(GossipReply.SendState, GossipProtocol.OnStatus(newer, GossipProtocol.StatusOf(N1, state)));
        Assert.Equal(GossipReply.SendState, GossipProtocol.OnStatus(newer, GossipProtocol.StatusOf(N3, concurrent)));
    }

    [Fact]
    public void Receiving_a_newer_state_merges_it_and_marks_it_seen()
    {
        var state = UpCluster(1, 2, 3);
        var newer = state.Leave(N2, N2);
        var receipt = GossipProtocol.Receive(state, N1, GossipProtocol.Envelope(N2, N1, newer));
        Assert.Equal(GossipReceiveOutcome.Merged, receipt.Outcome);
        Assert.Equal(VersionOrder.Older, receipt.Order);
        Assert.Equal(GossipReply.None, receipt.Reply);
        Assert.True(receipt.Changed);
        Assert.Equal(MemberStatus.Leaving, receipt.State.StatusOf(N2));
        Assert.Equal([N1, N2], receipt.State.SeenBy);
    }

    [Fact]
    public void Receiving_an_older_or_concurrent_state_asks_to_send_ours_back()
    {
        var state = UpCluster(1, 2, 3);
        var ours = state.Leave(N1, N3);
        var older = GossipProtocol.Receive(ours, N1, GossipProtocol.Envelope(N2, N1, state));
        Assert.Equal((VersionOrder.Newer, GossipReply.SendState), (older.Order, older.Reply));
        Assert.Equal(ours, older.State); // N2 had seen an older version only: nothing new for us

        var concurrent = GossipProtocol.Receive(ours, N1, GossipProtocol.Envelope(N2, N1, state.MarkUnreachable(N2, N3)));
        Assert.Equal((VersionOrder.Concurrent, GossipReply.SendState), (concurrent.Order, concurrent.Reply));
        Assert.Equal([N1], concurrent.State.SeenBy);
    }

    [Fact]
    public void Gossip_from_the_same_version_adds_to_the_seen_set_and_sends_back_viewers_the_sender_lacks()
    {
        var state = UpCluster(1, 2, 3).Leave(N1, N3);
        var receipt = GossipProtocol.Receive(state.Seen(N3), N3, GossipProtocol.Envelope(N2, N3, state));
        Assert.Equal(VersionOrder.Same, receipt.Order);
        Assert.Equal([N1, N2, N3], receipt.State.SeenBy);
        Assert.Equal(GossipReply.SendState, receipt.Reply); // N2 did not know that N3 has seen it

        var back = GossipProtocol.Receive(state.Seen(N2), N2, GossipProtocol.Envelope(N3, N2, receipt.State));
        Assert.Equal([N1, N2, N3], back.State.SeenBy);
        Assert.Equal(GossipReply.None, back.Reply); // nothing left to tell: the exchange ends
    }

    [Fact]
    public void At_the_same_version_a_status_exchange_spreads_the_larger_seen_set()
    {
        var state = UpCluster(1, 2, 3).Leave(N1, N3);
        var knowsAll = state.Seen(N2).Seen(N3);
        Assert.Equal(GossipReply.SendState, GossipProtocol.OnStatus(knowsAll, GossipProtocol.StatusOf(N1, state)));
        Assert.Equal(GossipReply.RequestState, GossipProtocol.OnStatus(state, GossipProtocol.StatusOf(N2, knowsAll)));
        Assert.Equal(GossipReply.None, GossipProtocol.OnStatus(knowsAll, GossipProtocol.StatusOf(N3, knowsAll)));
        Assert.Equal([N1, N3], GossipProtocol.StatusOf(N3, state).SeenBy); // the sender counts itself
    }

    [Fact]
    public void Misaddressed_gossip_and_gossip_from_retired_senders_are_ignored()
    {
        var state = UpCluster(1, 2, 3);
        var misaddressed = GossipProtocol.Receive(state, N1, GossipProtocol.Envelope(N2, N3, state.Leave(N2, N2)));
        Assert.Equal(GossipReceiveOutcome.Misaddressed, misaddressed.Outcome);
        Assert.Same(state, misaddressed.State);

        var downedHere = state.Down(N1, N2);
        var fromDowned = GossipProtocol.Receive(downedHere, N1, GossipProtocol.Envelope(N2, N1, state.Leave(N2, N3)));
        Assert.Equal(GossipReceiveOutcome.UnknownSender, fromDowned.Outcome);

        var stranger = GossipProtocol.Receive(state, N1, GossipProtocol.Envelope(N4, N1, state));
        Assert.Equal(GossipReceiveOutcome.UnknownSender, stranger.Outcome);

        var retired = GossipProtocol.Receive(downedHere, N2, GossipProtocol.Envelope(N1, N2, state));
        Assert.Equal(GossipReceiveOutcome.SelfRetired, retired.Outcome);
    }

    [Fact]
    public void A_joining_node_with_an_empty_state_takes_the_seeds_state()
    {
        var seed = UpCluster(1).Join(N1, Joining(2), MaxMembers);
        var receipt = GossipProtocol.Receive(MembershipState.Empty, N2, GossipProtocol.Envelope(N1, N2, seed));
        Assert.Equal(GossipReceiveOutcome.Merged, receipt.Outcome);
        Assert.Equal(MemberStatus.Joining, receipt.State.StatusOf(N2));
        Assert.Equal([N1, N2], receipt.State.SeenBy);
    }

    [Fact]
    public void Only_members_that_have_not_seen_the_version_need_the_full_state()
    {
        var state = UpCluster(1, 2, 3).Leave(N1, N3).Seen(N2);
        Assert.False(GossipProtocol.NeedsFullState(state, N2));
        Assert.True(GossipProtocol.NeedsFullState(state, N3));
    }

    [Fact]
    public void Target_selection_prefers_members_that_have_not_seen_the_version()
    {
        var state = UpCluster(1, 2, 3, 4, 5).Leave(N1, Id(5)).Seen(N2); // unseen: 3, 4, 5
        var random = new DeterministicRandom(42);
        var picks = Enumerable.Range(0, 1000).Select(_ => GossipProtocol.SelectTarget(state, N1, random, 1.0)).ToList();
        Assert.All(picks, p => Assert.Contains(p, new[] { N3, N4, Id(5) }));
        Assert.All(new[] { N3, N4, Id(5) }, n => Assert.Contains(n, picks));

        var anyone = Enumerable.Range(0, 1000).Select(_ => GossipProtocol.SelectTarget(state, N1, random, 0.0)).ToHashSet();
        Assert.Equal(new HashSet<NodeId> { N2, N3, N4, Id(5) }, anyone);
    }

    [Fact]
    public void Target_selection_skips_self_retired_and_suspected_members_and_may_find_nobody()
    {
        var state = UpCluster(1, 2, 3, 4).Down(N1, N2).MarkUnreachable(N1, N3);
        var random = new DeterministicRandom(7);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(N4, GossipProtocol.SelectTarget(state, N1, random, 0.8));
        }
        Assert.Equal(NodeId.None, GossipProtocol.SelectTarget(UpCluster(1), N1, random, 0.8));
        Assert.Throws<ArgumentOutOfRangeException>(() => GossipProtocol.SelectTarget(state, N1, random, 1.5));
    }

    [Fact]
    public void Target_selection_is_a_function_of_the_seed()
    {
        var state = UpCluster(1, 2, 3, 4, 5, 6);
        List<NodeId> Draw(ulong seed)
        {
            var random = new DeterministicRandom(seed);
            return Enumerable.Range(0, 50).Select(_ => GossipProtocol.SelectTarget(state, N1, random, 0.8)).ToList();
        }
        Assert.Equal(Draw(99), Draw(99));
        Assert.NotEqual(Draw(99), Draw(100));
    }
}
