using System.Collections.Frozen;
using System.Numerics;

namespace Memo.Node.Configuration;

/// <summary>How the address space is split and how each shard replica's actor is bounded (<c>memo.shards</c>).</summary>
/// <param name="Count">Number of shards; a power of two fixed when the network is created.</param>
/// <param name="MailboxCapacity">Capacity of each shard replica's bounded mailbox.</param>
/// <param name="MaxCommandsPerTurn">Most commands a shard replica drains per turn (one durable flush per turn).</param>
/// <param name="MaxConcurrentMoves">Group configuration changes (rebalancing steps) this node's shard leaders run at once.</param>
/// <param name="RingRemovalDelay">How long a node whose Up record went away without leaving (a restart, a downing) stays on
/// the placement ring, so a quick restart moves no shard group.</param>
/// <param name="HandoffTimeout">How long a leaving node waits for its shard groups to hand it off before it exits anyway.</param>
/// <param name="RestartBackoffMin">First wait of a replica's backoff supervisor before it starts a failed replica again from the silo.</param>
/// <param name="RestartBackoffMax">Longest such wait (the wait doubles with each failure up to it); a replica that then runs this long starts over.</param>
public sealed record ShardOptions(int Count, int MailboxCapacity, int MaxCommandsPerTurn, int MaxConcurrentMoves, TimeSpan RingRemovalDelay, TimeSpan HandoffTimeout,
    TimeSpan RestartBackoffMin, TimeSpan RestartBackoffMax)
{
    internal const string Path = "memo.shards";

    /// <summary>How often each node compares its immutable block copies with the other replicas of their shards and
    /// repairs the difference (anti-entropy of the direct block path); zero turns it off.</summary>
    public TimeSpan AntiEntropyInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The anti-entropy's rate limit: most block copies one pass sends or drops.</summary>
    public int AntiEntropyMaxCopies { get; init; } = 256;

    /// <summary>How often each node counts the rows and bytes of the shards it hosts (<c>memo cluster shards</c>).</summary>
    public TimeSpan UsageInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>What runs the shard replicas' turns (<c>memo.shards.turn-loop</c>): each replica's actor, or one loop for the
    /// node that commits many replicas' turns as one batch (<see cref="Shards.Replicated.ShardTurnLoop"/>).</summary>
    public Shards.Replicated.ShardTurnLoop TurnLoop { get; init; } = Shards.Replicated.ShardTurnLoop.Replica;

    private static readonly FrozenDictionary<string, Shards.Replicated.ShardTurnLoop> TurnLoopChoices =
        new Dictionary<string, Shards.Replicated.ShardTurnLoop>(StringComparer.Ordinal)
        {
            ["replica"] = Shards.Replicated.ShardTurnLoop.Replica,
            ["node"] = Shards.Replicated.ShardTurnLoop.Node,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static ShardOptions Read(OptionsReader r) => new(
        r.Int32($"{Path}.count"),
        r.Int32($"{Path}.mailbox-capacity"),
        r.Int32($"{Path}.max-commands-per-turn"),
        r.Int32($"{Path}.max-concurrent-moves"),
        r.Duration($"{Path}.ring-removal-delay"),
        r.Duration($"{Path}.handoff-timeout"),
        r.Duration($"{Path}.restart-backoff-min"),
        r.Duration($"{Path}.restart-backoff-max"))
    {
        AntiEntropyInterval = r.Duration($"{Path}.anti-entropy-interval"),
        AntiEntropyMaxCopies = r.Int32($"{Path}.anti-entropy-max-copies"),
        UsageInterval = r.Duration($"{Path}.usage-interval"),
        TurnLoop = r.Choice($"{Path}.turn-loop", TurnLoopChoices),
    };

    internal void Validate(OptionsValidator v)
    {
        var count = $"{Path}.count";
        v.Range(count, Count, 1, 65536);
        // Shard = leading bits of the address, so only a power of two splits the space evenly.
        v.Require(Count <= 0 || BitOperations.IsPow2(Count), count, OptionsValidator.Show(Count), "must be a power of two");
        v.Range($"{Path}.mailbox-capacity", MailboxCapacity, 1, 1 << 20);
        v.Range($"{Path}.max-commands-per-turn", MaxCommandsPerTurn, 1, Math.Max(1, MailboxCapacity));
        v.Range($"{Path}.max-concurrent-moves", MaxConcurrentMoves, 1, 1024);
        v.DurationRange($"{Path}.ring-removal-delay", RingRemovalDelay, TimeSpan.Zero, TimeSpan.FromDays(1));
        v.DurationRange($"{Path}.handoff-timeout", HandoffTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        v.DurationRange($"{Path}.anti-entropy-interval", AntiEntropyInterval, TimeSpan.Zero, TimeSpan.FromDays(1));
        v.Range($"{Path}.anti-entropy-max-copies", AntiEntropyMaxCopies, 1, 1_000_000);
        v.DurationRange($"{Path}.usage-interval", UsageInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));
        v.DurationRange($"{Path}.restart-backoff-min", RestartBackoffMin, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        v.DurationRange($"{Path}.restart-backoff-max", RestartBackoffMax, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        v.Require(RestartBackoffMax >= RestartBackoffMin, $"{Path}.restart-backoff-max", OptionsValidator.ShowDuration(RestartBackoffMax),
            $"must be at least {Path}.restart-backoff-min");
    }
}
