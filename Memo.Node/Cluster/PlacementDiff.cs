using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>The shards whose replica sets differ between two placements of the same shard count.</summary>
public sealed class PlacementDiff
{
    private PlacementDiff(ImmutableArray<ShardChange> changes) => Changes = changes;

    /// <summary>One entry per shard whose replica set (nodes or order) changed, by shard.</summary>
    public ImmutableArray<ShardChange> Changes { get; }

    /// <summary>True when no shard changed.</summary>
    public bool IsEmpty => Changes.IsEmpty;

    /// <summary>Replica slots that move: the number of (shard, node) pairs added (a join moves one slot per changed
    /// shard).</summary>
    public int AddedSlots => Changes.Sum(c => c.Added.Length);

    /// <summary>Replica slots given up: the number of (shard, node) pairs removed.</summary>
    public int RemovedSlots => Changes.Sum(c => c.Removed.Length);

    /// <summary>What changes from <paramref name="before"/> to <paramref name="after"/>; throws if their shard counts differ.</summary>
    public static PlacementDiff Between(RingPlacement before, RingPlacement after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.ShardCount != after.ShardCount)
        {
            throw new ArgumentException($"Placements of {before.ShardCount} and {after.ShardCount} shards cannot be compared.", nameof(after));
        }
        var changes = ImmutableArray.CreateBuilder<ShardChange>();
        for (var i = 0; i < before.ShardCount; i++)
        {
            var shard = new ShardId(i);
            if (!before[shard].Equals(after[shard]))
            {
                changes.Add(new ShardChange(shard, before[shard], after[shard]));
            }
        }
        return new PlacementDiff(changes.ToImmutable());
    }
}
