using Memo.Node.Storage;

namespace Memo.Node.Tests.Storage;

/// <summary>What a batch holds: one write per hard state or metadata record, never reordered across a shard's clearing.</summary>
public sealed class SiloBatchTests
{
    private static readonly ShardId S0 = new(0);
    private static readonly ShardId S1 = new(1);

    [Fact]
    public void A_second_hard_state_or_metadata_value_replaces_the_first_in_place()
    {
        var batch = new SiloBatch()
            .PutRaftState(S0, [1])
            .PutMeta("applied/0", [1])
            .AppendLog(S0, new LogIndex(1), new Term(1), [9])
            .PutRaftState(S1, [7])
            .PutRaftState(S0, [2, 2])
            .PutMeta("applied/0", [2]);

        Assert.Collection(batch.Operations,
            o => Assert.Equal([2, 2], Assert.IsType<SiloOperation.PutRaftState>(o).State),
            o => Assert.Equal([2], Assert.IsType<SiloOperation.PutMeta>(o).Value),
            o => Assert.IsType<SiloOperation.AppendLog>(o),
            o => Assert.Equal([7], Assert.IsType<SiloOperation.PutRaftState>(o).State));
    }

    [Fact]
    public void A_write_after_a_shard_is_cleared_is_kept_after_the_clearing()
    {
        var batch = new SiloBatch().PutRaftState(S0, [1]).PutMeta("m", [1]).ClearShard(S0).PutRaftState(S0, [2]).PutMeta("m", [2]);

        Assert.Equal(5, batch.Operations.Count);
        Assert.Equal([2], Assert.IsType<SiloOperation.PutRaftState>(batch.Operations[3]).State);
        Assert.Equal([2], Assert.IsType<SiloOperation.PutMeta>(batch.Operations[4]).Value);
    }
}
