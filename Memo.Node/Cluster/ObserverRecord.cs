using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>
/// One observer's row of the reachability table: the subjects it currently finds unreachable, under a version
/// only that observer increments. Subjects not listed are reachable from it. An empty row is kept (not dropped)
/// because its version is what overrides an older row that still lists subjects.
/// </summary>
public sealed class ObserverRecord : IEquatable<ObserverRecord>
{
    /// <summary>The row of an observer that has never suspected anyone.</summary>
    public static ObserverRecord Empty { get; } = new(0, ImmutableSortedSet<NodeId>.Empty);

    /// <summary>Builds a row (for decoding gossip).</summary>
    public ObserverRecord(ulong version, ImmutableSortedSet<NodeId> unreachable)
    {
        ArgumentNullException.ThrowIfNull(unreachable);
        Version = version;
        Unreachable = unreachable;
    }

    /// <summary>Incremented by the observer on each change of its row; the higher version wins a merge.</summary>
    public ulong Version { get; }

    /// <summary>Subjects the observer finds unreachable.</summary>
    public ImmutableSortedSet<NodeId> Unreachable { get; }

    /// <summary>The join of two copies of one observer's row: the newer wins; equal versions (which a correct
    /// observer never gives two contents) take the union, so the result is order-independent regardless.</summary>
    internal static ObserverRecord Merge(ObserverRecord a, ObserverRecord b)
    {
        if (ReferenceEquals(a, b) || a.Version > b.Version)
        {
            return a;
        }
        if (b.Version > a.Version)
        {
            return b;
        }
        var union = a.Unreachable.Union(b.Unreachable);
        return union.Count == a.Unreachable.Count ? a : union.Count == b.Unreachable.Count ? b : new ObserverRecord(a.Version, union);
    }

    /// <inheritdoc />
    public bool Equals(ObserverRecord? other) =>
        other is not null && (ReferenceEquals(this, other) ||
            (Version == other.Version && Unreachable.Count == other.Unreachable.Count && Unreachable.SetEquals(other.Unreachable)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ObserverRecord);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Version, Unreachable.Count);

    /// <inheritdoc />
    public override string ToString() => $"v{Version} unreachable {{{string.Join(", ", Unreachable)}}}";
}
