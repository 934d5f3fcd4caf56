using System.Text;

namespace Memo.Testing.Nemesis;

/// <summary>The faults the process nemesis applies.</summary>
public enum NemesisFault
{
    /// <summary>SIGKILL of one node, restarted on its folder after the hold.</summary>
    KillOne,

    /// <summary>SIGKILL of a majority at once, restarted after the hold.</summary>
    KillMajority,

    /// <summary>SIGKILL of every node at once, all restarted on their folders.</summary>
    KillAll,

    /// <summary>SIGSTOP of one node for longer than the election timeout, then SIGCONT.</summary>
    Pause,

    /// <summary>A minority of nodes cut off (both directions) from the majority.</summary>
    SplitMinority,

    /// <summary>The node leading the most shard groups cut off from every other node.</summary>
    IsolateLeader,

    /// <summary>The node leading the most shard groups hears everyone, but nothing it sends arrives.</summary>
    OneWayCut,

    /// <summary>Delay, jitter and retransmission stalls on every link, and resets of connections in flight.</summary>
    SlowLinks,
}

/// <summary>One step of a schedule.</summary>
/// <param name="Fault">What is done.</param>
/// <param name="Victims">The nodes it is done to (empty for the faults whose victim is the leader at the time, and for
/// <see cref="NemesisFault.KillAll"/> and <see cref="NemesisFault.SlowLinks"/>).</param>
/// <param name="Hold">How long the fault lasts (a pause's length; for kills, how long the nodes stay dead).</param>
/// <param name="Links">The link fault of <see cref="NemesisFault.SlowLinks"/>.</param>
/// <param name="Resets">Connection resets during <see cref="NemesisFault.SlowLinks"/>.</param>
public sealed record NemesisStep(NemesisFault Fault, IReadOnlyList<int> Victims, TimeSpan Hold, LinkFault? Links = null, int Resets = 0)
{
    /// <inheritdoc />
    public override string ToString()
    {
        var victims = Victims.Count > 0 ? " node" + (Victims.Count > 1 ? "s " : " ") + string.Join(",", Victims)
            : Fault is NemesisFault.IsolateLeader or NemesisFault.OneWayCut ? " (the leader of most groups)" : "";
        var links = Links is null ? "" : $" ({Links}, {Resets} reset(s))";
        return $"{Fault}{victims}{links}, {Hold.TotalSeconds:0.0} s";
    }
}

/// <summary>
/// A seeded schedule of faults: rounds, each a shuffle of every fault kind with seeded victims and lengths, so any
/// run of at least one round applies every kind. Pure: the same seed and node count give the same steps.
/// </summary>
public static class NemesisSchedule
{
    /// <summary>Every fault kind, in declaration order.</summary>
    public static IReadOnlyList<NemesisFault> AllFaults { get; } = Enum.GetValues<NemesisFault>();

    /// <summary>Plans <paramref name="rounds"/> rounds over <paramref name="faults"/> (all kinds when null).</summary>
    /// <param name="seed">The schedule's seed.</param>
    /// <param name="nodes">Node count (3 or more).</param>
    /// <param name="rounds">Rounds to plan.</param>
    /// <param name="electionTimeout">The Raft election timeout; a pause lasts from 1.5 to 4 times it.</param>
    /// <param name="faults">The kinds to draw from.</param>
    public static IReadOnlyList<NemesisStep> Plan(int seed, int nodes, int rounds, TimeSpan electionTimeout, IReadOnlyList<NemesisFault>? faults = null)
    {
        if (nodes < 3)
        {
            throw new ArgumentOutOfRangeException(nameof(nodes), nodes, "the nemesis needs at least 3 nodes");
        }
        var kinds = faults ?? AllFaults;
        var random = new Random(seed);
        var steps = new List<NemesisStep>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var fault in kinds.OrderBy(_ => random.Next()))
            {
                steps.Add(Draw(fault, nodes, random, electionTimeout));
            }
        }
        return steps;
    }

    /// <summary>The schedule as printed at the start of a run.</summary>
    public static string Describe(IReadOnlyList<NemesisStep> steps)
    {
        var text = new StringBuilder();
        for (var i = 0; i < steps.Count; i++)
        {
            text.Append("  ").Append(i + 1).Append(". ").AppendLine(steps[i].ToString());
        }
        return text.ToString();
    }

    private static NemesisStep Draw(NemesisFault fault, int nodes, Random random, TimeSpan electionTimeout)
    {
        TimeSpan Seconds(double from, double to) => TimeSpan.FromSeconds(from + (random.NextDouble() * (to - from)));
        int[] Pick(int count) => Enumerable.Range(0, nodes).OrderBy(_ => random.Next()).Take(count).Order().ToArray();
        return fault switch
        {
            NemesisFault.KillOne => new(fault, Pick(1), Seconds(1, 4)),
            NemesisFault.KillMajority => new(fault, Pick((nodes / 2) + 1), Seconds(1, 4)),
            NemesisFault.KillAll => new(fault, [], Seconds(0.5, 2)),
            NemesisFault.Pause => new(fault, Pick(1), electionTimeout * (1.5 + (random.NextDouble() * 2.5))),
            NemesisFault.SplitMinority => new(fault, Pick(1 + random.Next((nodes - 1) / 2)), Seconds(2, 6)),
            NemesisFault.IsolateLeader => new(fault, [], Seconds(2, 6)),
            NemesisFault.OneWayCut => new(fault, [], Seconds(2, 6)),
            NemesisFault.SlowLinks => new(fault, [], Seconds(3, 8),
                new LinkFault(false, TimeSpan.FromMilliseconds(random.Next(5, 60)), TimeSpan.FromMilliseconds(random.Next(0, 60)),
                    random.Next(1, 6) / 100.0, TimeSpan.FromMilliseconds(random.Next(200, 1000))),
                random.Next(0, 4)),
            _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, "unknown fault"),
        };
    }
}
