using System.Collections.Immutable;

namespace Memo.Node.Cluster;

public sealed partial class MembershipState
{
    /// <summary>How this state's version relates to <paramref name="other"/>'s.</summary>
    public VersionOrder CompareVersion(MembershipState other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Version.Compare(other.Version);
    }

    /// <summary>
    /// The join of this state and <paramref name="other"/> (rules in the design note of MembershipState.cs):
    /// commutative, associative and idempotent. Does not mark anyone as having seen the result; the receiver
    /// calls <see cref="Seen"/> for itself.
    /// </summary>
    public MembershipState Merge(MembershipState other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(this, other))
        {
            return this;
        }

        var members = Members;
        foreach (var (id, theirs) in other.Members)
        {
            var merged = members.TryGetValue(id, out var ours) ? Member.Merge(ours, theirs) : theirs;
            if (!ReferenceEquals(merged, ours))
            {
                members = members.SetItem(id, merged);
            }
        }

        HashSet<NodeId>? removed = null;
        foreach (var member in members.Values)
        {
            if (member.Status == MemberStatus.Removed)
            {
                (removed ??= []).Add(member.Id);
            }
        }
        var reachability = Reachability.Merge(other.Reachability);
        if (removed is not null)
        {
            reachability = reachability.Without(removed);
        }

        var seenBy = Version.Compare(other.Version) switch
        {
            VersionOrder.Same => SeenBy.Union(other.SeenBy),
            VersionOrder.Newer => SeenBy,
            VersionOrder.Older => other.SeenBy,
            _ => ImmutableSortedSet<NodeId>.Empty,
        };

        return new MembershipState(members, Version.Merge(other.Version), reachability, seenBy);
    }
}
