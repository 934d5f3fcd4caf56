using System.Collections.Immutable;
using System.Text;

namespace Memo.Node.Cluster;

/// <summary>
/// Who finds whom unreachable: one <see cref="ObserverRecord"/> per observer, each changed only by its observer's
/// failure detector. Merge is row-wise (newer row wins), which makes it a join: commutative, associative and
/// idempotent. Rows and entries of Removed members are dropped by the owning <see cref="MembershipState"/>.
/// </summary>
public sealed class ReachabilityTable : IEquatable<ReachabilityTable>
{
    /// <summary>Nobody suspects anybody.</summary>
    public static ReachabilityTable Empty { get; } = new(ImmutableSortedDictionary<NodeId, ObserverRecord>.Empty);

    private ReachabilityTable(ImmutableSortedDictionary<NodeId, ObserverRecord> observers) => Observers = observers;

    /// <summary>The rows, by observer.</summary>
    public ImmutableSortedDictionary<NodeId, ObserverRecord> Observers { get; }

    /// <summary>Builds a table from rows (for decoding gossip).</summary>
    public static ReachabilityTable From(IEnumerable<KeyValuePair<NodeId, ObserverRecord>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = ImmutableSortedDictionary.CreateRange(rows);
        return table.IsEmpty ? Empty : new ReachabilityTable(table);
    }

    /// <summary>What <paramref name="observer"/> says about <paramref name="subject"/>.</summary>
    public ReachabilityStatus Status(NodeId observer, NodeId subject) =>
        Observers.TryGetValue(observer, out var row) && row.Unreachable.Contains(subject)
            ? ReachabilityStatus.Unreachable
            : ReachabilityStatus.Reachable;

    /// <summary>The subjects <paramref name="observer"/> finds unreachable.</summary>
    public ImmutableSortedSet<NodeId> UnreachableBy(NodeId observer) =>
        Observers.TryGetValue(observer, out var row) ? row.Unreachable : ImmutableSortedSet<NodeId>.Empty;

    /// <summary>The observers that find <paramref name="subject"/> unreachable.</summary>
    public ImmutableSortedSet<NodeId> ObserversOf(NodeId subject)
    {
        var builder = ImmutableSortedSet.CreateBuilder<NodeId>();
        foreach (var (observer, row) in Observers)
        {
            if (row.Unreachable.Contains(subject))
            {
                builder.Add(observer);
            }
        }
        return builder.ToImmutable();
    }

    /// <summary>The table with <paramref name="observer"/>'s view of <paramref name="subject"/> set; the same table when
    /// nothing changes, else the observer's row gets the next version.</summary>
    internal ReachabilityTable With(NodeId observer, NodeId subject, ReachabilityStatus status)
    {
        var row = Observers.GetValueOrDefault(observer) ?? ObserverRecord.Empty;
        var unreachable = status == ReachabilityStatus.Unreachable ? row.Unreachable.Add(subject) : row.Unreachable.Remove(subject);
        if (ReferenceEquals(unreachable, row.Unreachable))
        {
            return this;
        }
        return new ReachabilityTable(Observers.SetItem(observer, new ObserverRecord(checked(row.Version + 1), unreachable)));
    }

    /// <summary>Row-wise join with <paramref name="other"/>.</summary>
    internal ReachabilityTable Merge(ReachabilityTable other)
    {
        if (ReferenceEquals(this, other) || other.Observers.IsEmpty)
        {
            return this;
        }
        if (Observers.IsEmpty)
        {
            return other;
        }
        var merged = Observers;
        foreach (var (observer, theirs) in other.Observers)
        {
            var row = merged.TryGetValue(observer, out var ours) ? ObserverRecord.Merge(ours, theirs) : theirs;
            if (!ReferenceEquals(row, ours))
            {
                merged = merged.SetItem(observer, row);
            }
        }
        return ReferenceEquals(merged, Observers) ? this : new ReachabilityTable(merged);
    }

    /// <summary>The table without rows of, or entries about, the nodes in <paramref name="gone"/>.</summary>
    internal ReachabilityTable Without(IReadOnlySet<NodeId> gone)
    {
        if (gone.Count == 0 || Observers.IsEmpty)
        {
            return this;
        }
        var result = Observers;
        foreach (var (observer, row) in Observers)
        {
            if (gone.Contains(observer))
            {
                result = result.Remove(observer);
                continue;
            }
            var kept = row.Unreachable.Except(gone);
            if (kept.Count != row.Unreachable.Count)
            {
                // The version stays: this is a deterministic filter every replica applies, not the observer's change.
                result = result.SetItem(observer, new ObserverRecord(row.Version, kept));
            }
        }
        return ReferenceEquals(result, Observers) ? this : new ReachabilityTable(result);
    }

    /// <inheritdoc />
    public bool Equals(ReachabilityTable? other)
    {
        if (other is null || Observers.Count != other.Observers.Count)
        {
            return false;
        }
        foreach (var (observer, row) in Observers)
        {
            if (!other.Observers.TryGetValue(observer, out var theirs) || !row.Equals(theirs))
            {
                return false;
            }
        }
        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ReachabilityTable);

    /// <inheritdoc />
    public override int GetHashCode() => Observers.Count;

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var (observer, row) in Observers)
        {
            text.Append(text.Length > 0 ? "; " : "").Append(observer).Append(": ").Append(row);
        }
        return text.ToString();
    }
}
