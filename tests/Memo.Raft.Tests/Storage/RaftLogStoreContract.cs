using System.Text;
using Memo.Node;
using Memo.Node.Raft;

namespace Memo.Raft.Tests.Storage;

/// <summary>
/// The contract every Raft log store passes: what the host writes for a Ready (snapshot, then entries, then hard
/// state) is what the core reads back, also after a restart from the durable medium; local snapshots compact the
/// log but keep the term of the compaction point; a received snapshot replaces the log.
/// </summary>
public abstract class RaftLogStoreContract : IAsyncLifetime
{
    private static readonly RaftMembership Three = RaftMembership.Create([new NodeId(1), new NodeId(2), new NodeId(3)]);

    /// <summary>The store under test.</summary>
    protected abstract IRaftLogStore Store { get; }

    /// <summary>Creates a bootstrapped store for a new group.</summary>
    protected abstract Task BootstrapAsync(RaftMembership membership);

    /// <summary>Persists the durable part of a Ready.</summary>
    protected abstract Task PersistAsync(Ready ready);

    /// <summary>Records a local snapshot and compacts.</summary>
    protected abstract Task CreateSnapshotAsync(RaftSnapshot snapshot, LogIndex compactThrough);

    /// <summary>Drops the in-memory state and loads the store again from its durable medium.</summary>
    protected abstract Task ReopenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Bootstrapped_store_is_empty_with_the_initial_configuration()
    {
        await BootstrapAsync(Three);
        await ReopenAsync();
        Assert.Equal(new LogIndex(1), Store.FirstIndex);
        Assert.Equal(LogIndex.Zero, Store.LastIndex);
        Assert.Equal(HardState.Empty, Store.HardState);
        Assert.Equal(Three, Store.Snapshot.Metadata.Membership);
        Assert.True(Store.TryGetTerm(LogIndex.Zero, out var t) && t == Term.Zero);
        Assert.False(Store.TryGetTerm(new LogIndex(1), out _));
    }

    [Fact]
    public async Task Persisted_entries_and_hard_state_survive_a_restart()
    {
        await BootstrapAsync(Three);
        await PersistAsync(ReadyOf(new HardState(new Term(2), new NodeId(3), new LogIndex(2)), Entries(1, 1, 2)));
        await ReopenAsync();
        Assert.Equal(new HardState(new Term(2), new NodeId(3), new LogIndex(2)), Store.HardState);
        Assert.Equal(new LogIndex(3), Store.LastIndex);
        Assert.Equal(["e1", "e2", "e3"], Store.GetEntries(new LogIndex(1), new LogIndex(4), long.MaxValue).Select(Text));
        Assert.True(Store.TryGetTerm(new LogIndex(3), out var t) && t == new Term(2));
    }

    [Fact]
    public async Task Appending_at_an_earlier_index_replaces_the_conflicting_suffix()
    {
        await BootstrapAsync(Three);
        await PersistAsync(ReadyOf(null, Entries(1, 1, 1, 1, 1)));
        await PersistAsync(ReadyOf(null, [new RaftEntry(new LogIndex(3), new Term(2), RaftEntryKind.Normal, "x3"u8.ToArray())]));
        await ReopenAsync();
        Assert.Equal(new LogIndex(3), Store.LastIndex);
        Assert.Equal(["e1", "e2", "x3"], Store.GetEntries(new LogIndex(1), new LogIndex(4), long.MaxValue).Select(Text));
    }

    [Fact]
    public async Task Entries_are_limited_by_bytes_but_at_least_one_is_returned()
    {
        await BootstrapAsync(Three);
        await PersistAsync(ReadyOf(null, Entries(1, 1, 1, 1)));
        Assert.Single(Store.GetEntries(new LogIndex(1), new LogIndex(5), 1));
        Assert.Equal(2, Store.GetEntries(new LogIndex(1), new LogIndex(5), 2 * (RaftEntry.OverheadBytes + 2)).Count);
    }

    [Fact]
    public async Task A_local_snapshot_compacts_the_log_and_keeps_the_term_of_the_compaction_point()
    {
        await BootstrapAsync(Three);
        await PersistAsync(ReadyOf(new HardState(new Term(1), new NodeId(1), new LogIndex(4)), Entries(1, 1, 1, 1, 1)));
        var snapshot = new RaftSnapshot(new SnapshotMetadata(new LogIndex(4), new Term(1), Three), "state@4"u8.ToArray());
        await CreateSnapshotAsync(snapshot, new LogIndex(3));
        await ReopenAsync();
        Assert.Equal(new LogIndex(4), Store.Snapshot.Index);
        Assert.Equal("state@4", Encoding.UTF8.GetString(Store.Snapshot.Data));
        Assert.True(Store.FirstIndex <= new LogIndex(5));
        Assert.True(Store.TryGetTerm(Store.FirstIndex.Previous(), out _));
        Assert.False(Store.TryGetTerm(new LogIndex(2), out _));
        Assert.Equal(new LogIndex(5), Store.LastIndex);
        Assert.Equal("e5", Text(Store.GetEntries(new LogIndex(5), new LogIndex(6), long.MaxValue)[0]));
    }

    [Fact]
    public async Task A_snapshot_from_the_leader_replaces_the_whole_log()
    {
        await BootstrapAsync(Three);
        await PersistAsync(ReadyOf(null, Entries(1, 1, 1)));
        var four = RaftMembership.Create([new NodeId(1), new NodeId(2), new NodeId(3)], [new NodeId(4)]);
        var snapshot = new RaftSnapshot(new SnapshotMetadata(new LogIndex(10), new Term(3), four), "state@10"u8.ToArray());
        await PersistAsync(new Ready(new HardState(new Term(3), NodeId.None, new LogIndex(10)), snapshot, [new RaftEntry(new LogIndex(11), new Term(3), RaftEntryKind.Normal, "e11"u8.ToArray())], [], [], [], [], NodeId.None, RaftRole.Follower));
        await ReopenAsync();
        Assert.Equal(new LogIndex(11), Store.FirstIndex);
        Assert.Equal(new LogIndex(11), Store.LastIndex);
        Assert.Equal(four, Store.Snapshot.Metadata.Membership);
        Assert.True(Store.TryGetTerm(new LogIndex(10), out var t) && t == new Term(3));
        Assert.Equal(new LogIndex(10), Store.HardState.Commit);
    }

    [Fact]
    public async Task A_single_voter_group_restarts_with_its_committed_entries_and_configuration_changes()
    {
        var one = RaftMembership.Create([new NodeId(1)]);
        await BootstrapAsync(one);
        var config = new RaftConfig { Id = new NodeId(1) };
        var node = new RaftNode(config, Store);
        node.Campaign();
        await DrainAsync(node);
        Assert.True(node.Propose("a"u8.ToArray()).IsAccepted);
        Assert.True(node.ProposeConfigChange(new ConfigChange(ConfigChangeKind.AddLearner, new NodeId(9))).IsAccepted);
        await DrainAsync(node);
        Assert.True(node.Propose("b"u8.ToArray()).IsAccepted);
        await DrainAsync(node);
        var commit = node.CommitIndex;

        await ReopenAsync();
        var restarted = new RaftNode(config, Store);
        Assert.Equal(commit, restarted.CommitIndex);
        Assert.Equal(node.Term, restarted.Term);
        Assert.True(restarted.Membership.IsLearner(new NodeId(9)));
        var ready = restarted.GetReady();
        Assert.Equal(["a", "b"], ready.CommittedEntries.Where(e => e.Kind == RaftEntryKind.Normal && e.Data.Length > 0).Select(Text));
    }

    private async Task DrainAsync(RaftNode node)
    {
        for (var i = 0; i < 100 && node.HasReady; i++)
        {
            var ready = node.GetReady();
            await PersistAsync(ready);
            node.Advance(ready);
        }
    }

    private static Ready ReadyOf(HardState? hardState, IReadOnlyList<RaftEntry> entries) =>
        new(hardState, null, entries, [], [], [], [], NodeId.None, RaftRole.Follower);

    private static List<RaftEntry> Entries(params int[] terms) =>
        terms.Select((t, i) => new RaftEntry(new LogIndex((ulong)i + 1), new Term((ulong)t), RaftEntryKind.Normal, Encoding.UTF8.GetBytes($"e{i + 1}"))).ToList();

    private static string Text(RaftEntry e) => Encoding.UTF8.GetString(e.Data);
}
