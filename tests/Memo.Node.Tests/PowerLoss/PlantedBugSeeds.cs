using System.Globalization;
using Xunit.Abstractions;

namespace Memo.Node.Tests.PowerLoss;

/// <summary>
/// The planted-bug twins of the power-loss tests replay fixed seeds that were measured to catch the bug, instead of
/// drawing one: the bug loses acknowledged writes only if the power goes while some are unsynced, and a random seed
/// whose cut lands in a quiet moment lost nothing once in a while, failing the twin for no fault of the code. Thread
/// timing still varies, so a fixed seed catches at the measured rate, not always; the twin tries its seeds in order
/// until one catches. The honest tests keep drawing fresh seeds. <c>MEMO_POWER_SEED</c> replays one seed instead.
/// </summary>
internal static class PlantedBugSeeds
{
    /// <summary>Runs <paramref name="seeds"/> in order until <paramref name="caught"/> holds; returns that outcome (or the last one).</summary>
    public static async Task<(int Seed, T Outcome)> FirstCatchAsync<T>(
        ITestOutputHelper output, IReadOnlyList<int> seeds, string measured, Func<int, Task<T>> run, Func<T, bool> caught)
    {
        IReadOnlyList<int> plan = Environment.GetEnvironmentVariable("MEMO_POWER_SEED") is { Length: > 0 } s ? [int.Parse(s, CultureInfo.InvariantCulture)] : seeds;
        output.WriteLine($"planted bug: fixed seeds {string.Join(", ", plan)}, tried in order until one catches it (measured: {measured}; MEMO_POWER_SEED=<seed> replays one)");
        var last = (Seed: 0, Outcome: default(T)!);
        for (var i = 0; i < plan.Count; i++)
        {
            last = (plan[i], await run(plan[i]));
            var hit = caught(last.Outcome);
            output.WriteLine($"seed {plan[i]} ({i + 1} of {plan.Count}): {(hit ? "caught the bug" : "lost nothing this time")}");
            if (hit)
            {
                break;
            }
        }
        return last;
    }
}
