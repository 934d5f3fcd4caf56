using System.Collections.Immutable;
using System.Text;

namespace Memo.Node.Cluster;

/// <summary>
/// A vector clock over nodes: each node counts the membership changes it made. Merge takes the pointwise
/// maximum (a join), so versions from any gossip order end equal. Absent entries are zero and never stored.
/// </summary>
public sealed class VersionVector : IEquatable<VersionVector>
{
    /// <summary>The version before any change.</summary>
    public static VersionVector Empty { get; } = new(ImmutableSortedDictionary<NodeId, ulong>.Empty);

    private VersionVector(ImmutableSortedDictionary<NodeId, ulong> counters) => Counters = counters;

    /// <summary>The non-zero counters by node.</summary>
    public ImmutableSortedDictionary<NodeId, ulong> Counters { get; }

    /// <summary>Builds a vector from counters (zeros are dropped); for decoding gossip.</summary>
    public static VersionVector From(IEnumerable<KeyValuePair<NodeId, ulong>> counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var builder = ImmutableSortedDictionary.CreateBuilder<NodeId, ulong>();
        foreach (var (node, counter) in counters)
        {
            if (node.IsNone)
            {
                throw new ArgumentException("A version vector has no entry for NodeId.None.", nameof(counters));
            }
            if (counter != 0)
            {
                builder[node] = counter;
            }
        }
        return builder.Count == 0 ? Empty : new VersionVector(builder.ToImmutable());
    }

    /// <summary>The counter of <paramref name="node"/> (zero when absent).</summary>
    public ulong this[NodeId node] => Counters.GetValueOrDefault(node);

    /// <summary>This version with one more change by <paramref name="node"/>.</summary>
    public VersionVector Increment(NodeId node)
    {
        if (node.IsNone)
        {
            throw new ArgumentException("NodeId.None cannot make changes.", nameof(node));
        }
        return new VersionVector(Counters.SetItem(node, checked(this[node] + 1)));
    }

    /// <summary>The pointwise maximum: the least version that is at least both.</summary>
    public VersionVector Merge(VersionVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(this, other) || other.Counters.IsEmpty)
        {
            return this;
        }
        if (Counters.IsEmpty)
        {
            return other;
        }
        var merged = Counters;
        foreach (var (node, counter) in other.Counters)
        {
            if (counter > merged.GetValueOrDefault(node))
            {
                merged = merged.SetItem(node, counter);
            }
        }
        return ReferenceEquals(merged, Counters) ? this : new VersionVector(merged);
    }

    /// <summary>How this version relates to <paramref name="other"/>.</summary>
    public VersionOrder Compare(VersionVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var thisAhead = false;
        var otherAhead = false;
        foreach (var (node, counter) in Counters)
        {
            var theirs = other[node];
            thisAhead |= counter > theirs;
            otherAhead |= counter < theirs;
        }
        foreach (var (node, counter) in other.Counters)
        {
            otherAhead |= counter > this[node];
        }
        return (thisAhead, otherAhead) switch
        {
            (false, false) => VersionOrder.Same,
            (true, false) => VersionOrder.Newer,
            (false, true) => VersionOrder.Older,
            _ => VersionOrder.Concurrent,
        };
    }

    /// <inheritdoc />
    public bool Equals(VersionVector? other) =>
        other is not null && (ReferenceEquals(this, other) || (Counters.Count == other.Counters.Count && Compare(other) == VersionOrder.Same));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as VersionVector);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (node, counter) in Counters)
        {
            hash.Add(node);
            hash.Add(counter);
        }
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder("{");
        foreach (var (node, counter) in Counters)
        {
            text.Append(text.Length > 1 ? ", " : "").Append(node).Append(':').Append(counter);
        }
        return text.Append('}').ToString();
    }
}
