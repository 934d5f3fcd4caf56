using Memo.Testing.Linearizability;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Linearizability;

public sealed class LinearizabilityCheckerRejectTests(ITestOutputHelper output)
{
    private LinearizabilityResult AssertViolation(HistoryBuilder history, string key)
    {
        var result = LinearizabilityChecker.Check(history.Operations);
        output.WriteLine(result.Explanation);
        Assert.False(result.IsLinearizable);
        Assert.False(result.TimedOut, result.Explanation);
        Assert.Equal(key, result.Key);
        Assert.Contains($"\"{key}\"", result.Explanation);
        return result;
    }

    [Fact]
    public void Stale_read_after_a_completed_write_is_rejected()
    {
        var result = AssertViolation(new HistoryBuilder()
            .Upsert("k", "a", 1, 2)
            .Upsert("k", "b", 3, 4)
            .Read("k", "a", 5, 6, client: 1), "k");
        Assert.Contains("could not place #2 c1 Read -> \"a\"", result.Explanation);
    }

    [Fact]
    public void Lost_write_is_rejected() => AssertViolation(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Upsert("k", "b", 3, 4, client: 1)
        .Read("k", "a", 5, 6, client: 2)
        .Read("k", "a", 7, 8, client: 3), "k");

    [Fact]
    public void Write_visible_then_gone_is_rejected() => AssertViolation(new HistoryBuilder()
        .Upsert("k", "v1", 1, 2)
        .Upsert("k", "v2", 3, 20, client: 1)
        .Read("k", "v2", 4, 5, client: 2)
        .Read("k", "v1", 6, 7, client: 2), "k");

    [Fact]
    public void Read_of_a_value_never_written_is_rejected() => AssertViolation(new HistoryBuilder()
        .Upsert("k", "a", 1, 10)
        .Read("k", "ghost", 2, 3, client: 1), "k");

    [Fact]
    public void Read_of_a_value_from_another_key_is_rejected() => AssertViolation(new HistoryBuilder()
        .Upsert("j", "a", 1, 2)
        .Read("k", "a", 3, 4), "k");

    [Fact]
    public void Read_of_a_present_value_before_any_write_is_rejected() => AssertViolation(new HistoryBuilder()
        .Read("k", "a", 1, 2)
        .Upsert("k", "a", 3, 4), "k");

    [Fact]
    public void Insert_applied_twice_is_rejected() => AssertViolation(new HistoryBuilder()
        .Insert("k", "a", 1, 10, client: 0)
        .Insert("k", "b", 2, 9, client: 1), "k");

    [Fact]
    public void Update_applied_on_a_missing_key_is_rejected() => AssertViolation(new HistoryBuilder()
        .Update("k", "a", 1, 2), "k");

    [Fact]
    public void Delete_rejected_on_a_present_key_is_rejected() => AssertViolation(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Delete("k", 3, 4, applied: false), "k");

    [Fact]
    public void Insert_rejected_on_an_absent_key_is_rejected() => AssertViolation(new HistoryBuilder()
        .Insert("k", "a", 1, 2, applied: false), "k");

    [Fact]
    public void Upsert_not_applied_is_rejected() => AssertViolation(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Add(new HistoryOperation(1, 0, "k", KvOperationKind.Upsert, "b", 3, 4, HistoryOutcome.Ok, null, Applied: false)), "k");

    [Fact]
    public void Non_monotonic_reads_across_clients_are_rejected() => AssertViolation(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Upsert("k", "b", 3, 30, client: 1)
        .Read("k", "b", 4, 5, client: 2)
        .Read("k", "a", 6, 7, client: 3), "k");

    [Fact]
    public void Unknown_write_cannot_take_effect_before_its_invocation() => AssertViolation(new HistoryBuilder()
        .Upsert("k", "a", 1, 2)
        .Read("k", "b", 3, 4)
        .Unknown("k", KvOperationKind.Upsert, "b", 5), "k");

    [Fact]
    public void Unknown_write_takes_effect_at_most_once() => AssertViolation(new HistoryBuilder()
        .Unknown("k", KvOperationKind.Upsert, "b", 1)
        .Read("k", "b", 2, 3)
        .Upsert("k", "a", 4, 5)
        .Read("k", "b", 6, 7), "k");

    [Fact]
    public void Failed_write_is_never_visible() => AssertViolation(new HistoryBuilder()
        .Failed("k", KvOperationKind.Upsert, "b", 1, 2)
        .Read("k", "b", 3, 4), "k");

    [Fact]
    public void Violation_on_one_key_is_reported_among_many_good_keys()
    {
        var history = new HistoryBuilder();
        for (var k = 0; k < 20; k++)
        {
            history.Upsert($"k{k}", "a", 1, 2, client: k).Read($"k{k}", "a", 3, 4, client: k);
        }

        history.Upsert("k13", "b", 5, 6).Read("k13", "a", 7, 8, client: 99);
        AssertViolation(history, "k13");
    }
}
