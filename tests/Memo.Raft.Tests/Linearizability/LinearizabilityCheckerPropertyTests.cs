using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Memo.Testing.Linearizability;
using Xunit.Abstractions;

namespace Memo.Raft.Tests.Linearizability;

public sealed class LinearizabilityCheckerPropertyTests(ITestOutputHelper output)
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(300);

    [Fact]
    public void Histories_generated_from_an_atomic_map_are_accepted()
    {
        var property = Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var history = new LinearizableHistoryGenerator(seed) { Keys = 3, Clients = 5, Values = 4 }.Generate(60);
            var result = LinearizabilityChecker.Check(history);
            return result.IsLinearizable.Label($"seed {seed}: {result.Explanation}");
        });
        Check.One(Quick, property);
    }

    [Fact]
    public void Histories_with_many_unknown_operations_are_accepted()
    {
        var property = Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var generator = new LinearizableHistoryGenerator(seed)
            {
                Keys = 2, Clients = 6, Values = 50, UnknownRate = 0.3, FailRate = 0.1,
            };
            var history = generator.Generate(80);
            var result = LinearizabilityChecker.Check(history);
            return result.IsLinearizable.Label($"seed {seed}: {result.Explanation}");
        });
        Check.One(Quick, property);
    }

    [Theory]
    [InlineData(0.2, 3)]
    [InlineData(0.5, 2)]
    public void Checker_agrees_with_brute_force_on_small_histories(double unknownRate, int values)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int accepted = 0, rejected = 0;
        for (var round = 0; round < 1500; round++)
        {
            var generator = new LinearizableHistoryGenerator(random.Next())
            {
                Keys = 1 + random.Next(2), Clients = 2 + random.Next(3), Values = 1 + random.Next(values),
                UnknownRate = unknownRate, FailRate = 0.1, TimeGranularity = 1 + random.Next(3),
            };
            var history = generator.Generate(2 + random.Next(6));
            if (Relevant(history) > 7)
            {
                continue;
            }

            var mutated = round % 3 == 0 ? history : Mutate(history, random);
            var expected = BruteForceLinearizability.IsLinearizable(mutated);
            var result = LinearizabilityChecker.Check(mutated);
            Assert.False(result.TimedOut, result.Explanation);
            Assert.True(
                expected == result.IsLinearizable,
                $"seed {seed} round {round}: brute force says {expected}, checker says {result.Explanation}\n" +
                string.Join("\n", mutated));
            if (expected)
            {
                accepted++;
            }
            else
            {
                rejected++;
            }
        }

        output.WriteLine($"{accepted} accepted, {rejected} rejected");

        // Both verdicts must be exercised, or the comparison proves little.
        Assert.True(accepted > 100 && rejected > 100, $"seed {seed}: accepted {accepted}, rejected {rejected}");
    }

    [Fact]
    public void Read_of_a_value_never_written_is_rejected_in_generated_histories()
    {
        var property = Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var history = new LinearizableHistoryGenerator(seed) { Keys = 3, Clients = 5, Values = 4 }.Generate(60);
            var reads = history.Where(o => o is { Kind: KvOperationKind.Read, Outcome: HistoryOutcome.Ok }).ToList();
            if (reads.Count == 0)
            {
                return true.Label("no reads");
            }

            var victim = reads[new Random(seed).Next(reads.Count)];
            var mutated = history.Select(o => o.Id == victim.Id ? o with { Output = "ghost" } : o).ToList();
            var result = LinearizabilityChecker.Check(mutated);
            return (!result.IsLinearizable && !result.TimedOut && result.Key == victim.Key)
                .Label($"seed {seed}: {result.Explanation}");
        });
        Check.One(Quick, property);
    }

    [Fact]
    public void Read_returning_a_value_overwritten_before_it_was_invoked_is_rejected()
    {
        // Writes of unique values; a read is made to return a value whose every write was overwritten by a write
        // that completed before the read began: a stale read, which real-time order forbids.
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var checkedCount = 0;
        for (var round = 0; round < 300; round++)
        {
            var history = new LinearizableHistoryGenerator(random.Next())
            {
                Keys = 2, Clients = 4, Values = 1000, UnknownRate = 0.05, FailRate = 0.05,
            }.Generate(40);
            var stale = FindStaleMutation(history);
            if (stale is null)
            {
                continue;
            }

            checkedCount++;
            var result = LinearizabilityChecker.Check(stale.Value.History);
            Assert.False(result.IsLinearizable, $"seed {seed} round {round}: {stale.Value.Description} was accepted");
            Assert.False(result.TimedOut, result.Explanation);
        }

        output.WriteLine($"{checkedCount} stale-read mutations checked");
        Assert.True(checkedCount > 50, $"only {checkedCount} mutations found");
    }

    [Fact]
    public void Large_history_is_checked()
    {
        const int seed = 20_250_101;
        var history = new LinearizableHistoryGenerator(seed)
        {
            Keys = 20, Clients = 8, Values = 10, UnknownRate = 0.05, FailRate = 0.02,
        }.Generate(2000);
        var stopwatch = Stopwatch.StartNew();
        var result = LinearizabilityChecker.Check(history);
        output.WriteLine($"seed {seed}: {history.Count} operations checked in {stopwatch.Elapsed.TotalMilliseconds:F0} ms: {result.Explanation}");
        Assert.True(result.IsLinearizable, result.Explanation);
    }

    [Fact]
    public void Large_single_key_history_is_checked()
    {
        const int seed = 7;
        var history = new LinearizableHistoryGenerator(seed)
        {
            Keys = 1, Clients = 8, Values = 5, UnknownRate = 0.05, FailRate = 0.02,
        }.Generate(1000);
        var stopwatch = Stopwatch.StartNew();
        var result = LinearizabilityChecker.Check(history);
        output.WriteLine($"seed {seed}: {history.Count} operations checked in {stopwatch.Elapsed.TotalMilliseconds:F0} ms: {result.Explanation}");
        Assert.True(result.IsLinearizable, result.Explanation);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void Stale_read_in_a_busy_single_key_history_with_unknown_writes_is_rejected_within_budget(double unknownRate)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var checkedCount = 0;
        var slowest = TimeSpan.Zero;
        for (var round = 0; round < 20; round++)
        {
            var history = new LinearizableHistoryGenerator(random.Next())
            {
                Keys = 1, Clients = 8, Values = 100_000, UnknownRate = unknownRate, FailRate = 0.05,
            }.Generate(400);
            var stale = FindStaleMutation(history);
            if (stale is null)
            {
                continue;
            }

            checkedCount++;
            var stopwatch = Stopwatch.StartNew();
            var result = LinearizabilityChecker.Check(stale.Value.History);
            slowest = stopwatch.Elapsed > slowest ? stopwatch.Elapsed : slowest;
            Assert.False(result.TimedOut, $"seed {seed} round {round}: {result.Explanation}");
            Assert.False(result.IsLinearizable, $"seed {seed} round {round}: {stale.Value.Description} was accepted");
        }

        output.WriteLine($"{checkedCount} histories of 400 operations checked; slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.True(checkedCount > 10, $"only {checkedCount} mutations found");
    }

    private static int Relevant(IReadOnlyList<HistoryOperation> history) =>
        history.Count(o => o.Outcome == HistoryOutcome.Ok ||
                           o is { Outcome: HistoryOutcome.Unknown, Kind: not KvOperationKind.Read });

    /// <summary>Changes one completed operation's result: a read's value, or a write's applied flag.</summary>
    private static List<HistoryOperation> Mutate(List<HistoryOperation> history, Random random)
    {
        var completed = history.Where(o => o.Outcome == HistoryOutcome.Ok).ToList();
        if (completed.Count == 0)
        {
            return history;
        }

        var victim = completed[random.Next(completed.Count)];
        var replacement = victim.Kind == KvOperationKind.Read
            ? victim with { Output = random.Next(4) switch { 0 => null, 1 => "ghost", _ => "v" + random.Next(3) } }
            : victim with { Applied = !victim.Applied };
        return history.Select(o => o.Id == victim.Id ? replacement : o).ToList();
    }

    /// <summary>
    /// Finds an Ok read and a value to make it return such that every write of that value (Ok or Unknown) was
    /// followed, before the read was invoked, by a completed Upsert of another value that itself was invoked after the
    /// write returned; values are unique per write in these histories, so the mutated read is stale.
    /// </summary>
    private static (List<HistoryOperation> History, string Description)? FindStaleMutation(List<HistoryOperation> history)
    {
        foreach (var read in history.Where(o => o is { Kind: KvOperationKind.Read, Outcome: HistoryOutcome.Ok }))
        {
            var writes = history
                .Where(o => o.Key == read.Key && o.Outcome == HistoryOutcome.Ok && o.Applied &&
                            o.Kind is KvOperationKind.Upsert or KvOperationKind.Insert or KvOperationKind.Update)
                .ToList();
            foreach (var old in writes)
            {
                if (old.Input == read.Output || old.ReturnedAt >= read.InvokedAt)
                {
                    continue;
                }

                var sameValue = history.Where(o => o.Key == read.Key && o.Input == old.Input && o.Outcome != HistoryOutcome.Failed);
                if (sameValue.Any(o => o.Id != old.Id))
                {
                    continue;
                }

                var overwritten = history.Any(o =>
                    o is { Kind: KvOperationKind.Upsert, Outcome: HistoryOutcome.Ok } && o.Key == read.Key &&
                    o.Input != old.Input && o.InvokedAt > old.ReturnedAt && o.ReturnedAt < read.InvokedAt);
                if (overwritten)
                {
                    var mutated = history.Select(o => o.Id == read.Id ? o with { Output = old.Input } : o).ToList();
                    return (mutated, $"{read} made to return {old.Input} written by {old}");
                }
            }
        }

        return null;
    }
}
