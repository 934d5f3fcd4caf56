using Memo.Node.Raft;
using Memo.Node.Shards.Replicated;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// The replica's input filter (issue 9 item 2): a member of the cluster that is not a member of the group cannot
/// speak in it. The decision itself is unit-tested in Memo.Raft.Tests (RaftInputAdmissionTests).
/// </summary>
public sealed class RaftInputAdmissionReplicaTests(ITestOutputHelper output)
{
    private static readonly int[] Three = [1, 2, 3];

    [Fact]
    public async Task Raft_messages_from_a_node_outside_the_group_neither_stop_a_follower_nor_take_the_group_over()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 909);
        await cluster.StartGroupAsync(Three);
        await cluster.WriteAsync(Upsert("a", 1), "first write");
        var leader = await cluster.LeaderAsync("leader known");
        await cluster.UntilAsync("followers know the leader", () => Three.All(i => cluster.Replica(i).Status.Leader == leader.Node));
        var follower = Three.Select(cluster.Replica).First(r => r.Node != leader.Node);
        var term = follower.Status.Term;
        var stranger = N(9);

        // A second leader of the current term stops a replica that steps it; a higher term's leader would replace the
        // group's and could overwrite its uncommitted entries; a vote request with a higher term would depose it.
        Assert.True(follower.Deliver(stranger, RaftWireCodec.Encode(new RaftMessage
        {
            Kind = RaftMessageKind.Heartbeat, From = stranger, To = follower.Node, Term = term,
        })));
        Assert.True(follower.Deliver(stranger, RaftWireCodec.Encode(new RaftMessage
        {
            Kind = RaftMessageKind.Append, From = stranger, To = follower.Node, Term = new Term(term.Value + 5),
            Index = LogIndex.Zero, LogTerm = Term.Zero, Commit = LogIndex.Zero,
        })));
        Assert.True(leader.Deliver(stranger, RaftWireCodec.Encode(new RaftMessage
        {
            Kind = RaftMessageKind.Vote, From = stranger, To = leader.Node, Term = new Term(term.Value + 9),
            Index = new LogIndex(1_000_000), LogTerm = new Term(term.Value + 8),
        })));

        var written = await cluster.WriteAsync(Upsert("a", 2), "write after the stranger's messages");
        await cluster.CaughtUpAsync("applied everywhere", Three);
        Assert.Equal(leader.Node, (await cluster.LeaderAsync("leader after")).Node);
        foreach (var replica in Three.Select(cluster.Replica))
        {
            Assert.Null(replica.Status.StopReason);
            Assert.Equal(term, replica.Status.Term);
            Assert.Equal(leader.Node, replica.Status.Leader);
            Assert.Equal(2UL, (await ReadEntryAsync(cluster.Nodes[replica.Node].Silo, "a"))!.Version);
        }
        Assert.True(written.Index > LogIndex.Zero);
    }
}
