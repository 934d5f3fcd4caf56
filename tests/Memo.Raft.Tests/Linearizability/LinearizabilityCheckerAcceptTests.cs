using Memo.Testing.Linearizability;

namespace Memo.Raft.Tests.Linearizability;

public sealed class LinearizabilityCheckerAcceptTests
{
    private static void AssertLinearizable(HistoryBuilder history)
    {
        var result = LinearizabilityChecker.Check(history.Operations);
        Assert.False(result.TimedOut, result.Explanation);
        Assert.True(result.IsLinearizable, result.Explanation);
        Assert.Null(result.Key);
    }

    [Fact]
    public void Empty_history_is_linearizable() => AssertLinearizable(new HistoryBuilder());

    [Fact]
    public void Sequential_history_is_linearizable() => AssertLinearizable(new HistoryBuilder()
        .Read("k", null, 1, 2)
        .Upsert("k", "a", 3, 4)
        .Read("k", "a", 5, 6)
        .Upsert("k", "b", 7, 8)
        .Read("k", "b", 9, 10)
        .Delete("k", 11, 12)
        .Read("k", null, 13, 14));

    [Fact]
    public void Read_concurrent_with_a_write_may_see_the_old_value() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Upsert("k", "b", 3, 10, client: 1)
        .Read("k", "a", 4, 5, client: 2));

    [Fact]
    public void Read_concurrent_with_a_write_may_see_the_new_value() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Upsert("k", "b", 3, 10, client: 1)
        .Read("k", "b", 4, 5, client: 2));

    [Fact]
    public void Concurrent_writes_may_be_seen_in_either_order() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 10, client: 0)
        .Upsert("k", "b", 2, 9, client: 1)
        .Read("k", "a", 11, 12, client: 2)
        .Read("k", "a", 13, 14, client: 3));

    [Fact]
    public void Concurrent_reads_may_see_new_then_old_only_if_a_write_explains_it() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Upsert("k", "b", 3, 20, client: 1)
        .Upsert("k", "a", 3, 20, client: 2)
        .Read("k", "b", 4, 5, client: 3)
        .Read("k", "a", 6, 7, client: 3));

    [Fact]
    public void Equal_timestamps_count_as_concurrent() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 5)
        .Read("k", null, 5, 6, client: 1));

    [Fact]
    public void Unknown_write_may_appear_long_after_its_invocation() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Unknown("k", KvOperationKind.Upsert, "b", 3)
        .Read("k", "a", 10, 11)
        .Read("k", "a", 12, 13, client: 1)
        .Read("k", "b", 20, 21, client: 2)
        .Read("k", "b", 22, 23));

    [Fact]
    public void Unknown_write_may_never_take_effect() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Unknown("k", KvOperationKind.Upsert, "b", 3)
        .Unknown("k", KvOperationKind.Delete, null, 4, client: 1)
        .Read("k", "a", 10, 11)
        .Read("k", "a", 100, 101));

    [Fact]
    public void Unknown_insert_takes_effect_only_when_the_key_is_absent() => AssertLinearizable(new HistoryBuilder()
        .Unknown("k", KvOperationKind.Insert, "x", 1)
        .Upsert("k", "a", 2, 3)
        .Delete("k", 4, 5)
        .Read("k", "x", 6, 7));

    [Fact]
    public void Many_unknown_writes_do_not_block_the_search()
    {
        var history = new HistoryBuilder();
        for (var i = 0; i < 40; i++)
        {
            history.Unknown("k", KvOperationKind.Upsert, $"u{i}", i, client: i);
        }

        history.Upsert("k", "a", 100, 101).Read("k", "a", 102, 103).Read("k", "u7", 104, 105);
        AssertLinearizable(history);
    }

    [Fact]
    public void Failed_operations_are_ignored() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Failed("k", KvOperationKind.Upsert, "b", 3, 4)
        .Failed("k", KvOperationKind.Delete, null, 3, 4)
        .Read("k", "a", 5, 6));

    [Fact]
    public void Unknown_reads_are_ignored() => AssertLinearizable(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Unknown("k", KvOperationKind.Read, null, 3)
        .Read("k", "a", 5, 6));

    [Fact]
    public void Insert_update_delete_preconditions_are_modelled() => AssertLinearizable(new HistoryBuilder()
        .Update("k", "x", 1, 2, applied: false)
        .Delete("k", 3, 4, applied: false)
        .Insert("k", "a", 5, 6)
        .Insert("k", "b", 7, 8, applied: false)
        .Read("k", "a", 9, 10)
        .Update("k", "c", 11, 12)
        .Read("k", "c", 13, 14)
        .Delete("k", 15, 16)
        .Read("k", null, 17, 18)
        .Insert("k", "d", 19, 20)
        .Read("k", "d", 21, 22));

    [Fact]
    public void Concurrent_inserts_one_wins() => AssertLinearizable(new HistoryBuilder()
        .Insert("k", "a", 1, 10, applied: false, client: 0)
        .Insert("k", "b", 2, 9, applied: true, client: 1)
        .Read("k", "b", 11, 12));

    [Fact]
    public void Many_keys_with_interleavings_are_checked_independently()
    {
        var history = new HistoryBuilder();
        for (var k = 0; k < 10; k++)
        {
            var key = $"k{k}";
            history.Upsert(key, $"{key}-a", 1 + k, 30 + k, client: k)
                .Upsert(key, $"{key}-b", 2 + k, 31 + k, client: k + 10)
                .Read(key, $"{key}-a", 3 + k, 32 + k, client: k + 20)
                .Read(key, $"{key}-b", 50 + k, 60 + k, client: k + 30);
        }

        AssertLinearizable(history);
    }

    [Fact]
    public void Recorded_history_is_linearizable()
    {
        var recorder = new HistoryRecorder();
        var w = recorder.Invoke(0, "k", KvOperationKind.Upsert, "a");
        var r = recorder.Invoke(1, "k", KvOperationKind.Read, null);
        recorder.Ok(w);
        recorder.Ok(r, readValue: "a");
        var i = recorder.Invoke(1, "k", KvOperationKind.Insert, "b");
        recorder.Ok(i, applied: false);
        var lost = recorder.Invoke(2, "k", KvOperationKind.Delete, null);
        var failed = recorder.Invoke(3, "k", KvOperationKind.Upsert, "z");
        recorder.Fail(failed);
        var r2 = recorder.Invoke(1, "k", KvOperationKind.Read, null);
        recorder.Ok(r2, readValue: null);

        var operations = recorder.Operations;
        Assert.Equal(HistoryOutcome.Unknown, operations[lost].Outcome);
        Assert.Equal(HistoryOutcome.Failed, operations[failed].Outcome);
        var result = LinearizabilityChecker.Check(operations);
        Assert.True(result.IsLinearizable, result.Explanation);
    }
}
