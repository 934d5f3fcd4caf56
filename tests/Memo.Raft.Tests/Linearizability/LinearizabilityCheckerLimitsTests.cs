using System.Diagnostics;
using Memo.Testing.Linearizability;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Linearizability;

public sealed class LinearizabilityCheckerLimitsTests(ITestOutputHelper output)
{
    /// <summary>
    /// Many fully concurrent writes followed by a read nobody could explain: every order of the writes must be
    /// considered before the read can be rejected, which is exponential.
    /// </summary>
    private static HistoryBuilder ExponentialHistory(string key, int writes)
    {
        var history = new HistoryBuilder();
        for (var i = 0; i < writes; i++)
        {
            history.Upsert(key, $"w{i}", i, 1000 + i, client: i);
            history.Read(key, $"w{i}", writes + i, 1000 + writes + i, client: writes + i);
        }

        return history.Read(key, "ghost", 5000, 5001);
    }

    [Fact]
    public void Exhausted_budget_reports_a_timeout_and_never_linearizable()
    {
        var history = ExponentialHistory("hard", 40);
        var result = LinearizabilityChecker.Check(history.Operations, TimeSpan.FromMilliseconds(200));
        output.WriteLine(result.Explanation);
        Assert.True(result.TimedOut);
        Assert.False(result.IsLinearizable);
        Assert.Equal("hard", result.Key);
        Assert.Contains("no verdict within the budget", result.Explanation);
    }

    [Fact]
    public void Violation_on_a_small_key_is_reported_even_when_another_key_times_out()
    {
        var history = ExponentialHistory("hard", 40)
            .Upsert("easy", "a", 1, 2)
            .Upsert("easy", "b", 3, 4)
            .Read("easy", "a", 5, 6);
        var result = LinearizabilityChecker.Check(history.Operations, TimeSpan.FromMilliseconds(200));
        output.WriteLine(result.Explanation);
        Assert.False(result.IsLinearizable);
        Assert.False(result.TimedOut);
        Assert.Equal("easy", result.Key);
    }

    [Fact]
    public void Many_unknown_writes_each_observed_once_still_allow_a_prompt_rejection()
    {
        // Each Unknown write is seen by exactly one read, in invocation order; then the first value is seen again,
        // after it was overwritten: a violation the search must find without trying every subset of Unknown writes.
        const int unknown = 30;
        var history = new HistoryBuilder();
        for (var i = 0; i < unknown; i++)
        {
            history.Unknown("k", KvOperationKind.Upsert, $"u{i}", i, client: i);
        }

        for (var i = 0; i < unknown; i++)
        {
            history.Read("k", $"u{i}", 100 + (2 * i), 101 + (2 * i), client: 99);
        }

        history.Read("k", "u0", 1000, 1001, client: 99);
        var stopwatch = Stopwatch.StartNew();
        var result = LinearizabilityChecker.Check(history.Operations);
        output.WriteLine($"{stopwatch.Elapsed.TotalMilliseconds:F0} ms: {result.Explanation}");
        Assert.False(result.TimedOut, result.Explanation);
        Assert.False(result.IsLinearizable);
        Assert.Contains("could not place #60 c99 Read -> \"u0\"", result.Explanation);
    }

    [Fact]
    public void Many_unknown_writes_interleaved_with_completed_ones_are_accepted()
    {
        // Unknown writes, each possibly applied late, interleaved with completed writes and reads that observe some
        // of them out of invocation order.
        var history = new HistoryBuilder();
        for (var i = 0; i < 30; i++)
        {
            history.Unknown("k", KvOperationKind.Upsert, $"u{i}", 10 * i, client: i);
            history.Upsert("k", $"w{i}", (10 * i) + 1, (10 * i) + 2, client: 100);
            history.Read("k", $"w{i}", (10 * i) + 3, (10 * i) + 4, client: 100);
        }

        for (var i = 29; i >= 0; i -= 3)
        {
            history.Read("k", $"u{i}", 1000 + i, 1001 + i, client: 101 + i);
        }

        var result = LinearizabilityChecker.Check(history.Operations);
        output.WriteLine(result.Explanation);
        Assert.True(result.IsLinearizable, result.Explanation);
    }

    [Fact]
    public void Ok_operation_without_a_return_time_is_rejected_as_malformed()
    {
        var history = new[] { new HistoryOperation(0, 0, "k", KvOperationKind.Read, null, 1, null, HistoryOutcome.Ok, null, true) };
        Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check(history));
    }

    [Fact]
    public void Operation_returning_before_its_invocation_is_rejected_as_malformed()
    {
        var history = new[] { new HistoryOperation(0, 0, "k", KvOperationKind.Read, null, 5, 4, HistoryOutcome.Ok, null, true) };
        Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check(history));
    }

    [Fact]
    public void Duplicate_operation_ids_are_rejected_as_malformed()
    {
        var op = new HistoryOperation(0, 0, "k", KvOperationKind.Read, null, 1, 2, HistoryOutcome.Ok, null, true);
        Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check([op, op with { InvokedAt = 3, ReturnedAt = 4 }]));
    }
}
