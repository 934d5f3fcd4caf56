using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>
/// The members of a cluster as this node sees them at one moment: one record per NodeId (the live incarnation when a
/// node restarted), who some member suspects, and the membership leader. Immutable. Built from Akka.Cluster's state by
/// <see cref="Runtime.AkkaMemberMapping"/>; the ring and every table of <c>memo cluster show</c> are computed from it.
/// </summary>
public sealed class ClusterMembers : IEquatable<ClusterMembers>
{
    /// <summary>No members: a node that has not formed or joined a cluster yet.</summary>
    public static ClusterMembers Empty { get; } = new(
        ImmutableSortedDictionary<NodeId, Member>.Empty, ImmutableSortedSet<NodeId>.Empty, NodeId.None, false);

    /// <summary>Creates a table.</summary>
    /// <param name="members">One record per NodeId.</param>
    /// <param name="unreachable">Members some live member suspects.</param>
    /// <param name="leader">The membership leader; <see cref="NodeId.None"/> when there is none.</param>
    /// <param name="converged">True when every member agrees on this membership (Akka's convergence).</param>
    public ClusterMembers(ImmutableSortedDictionary<NodeId, Member> members, ImmutableSortedSet<NodeId> unreachable, NodeId leader, bool converged)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(unreachable);
        Members = members;
        Unreachable = unreachable;
        Leader = leader;
        IsConverged = converged;
    }

    /// <summary>Every member record by NodeId.</summary>
    public ImmutableSortedDictionary<NodeId, Member> Members { get; }

    /// <summary>Members some live member suspects.</summary>
    public ImmutableSortedSet<NodeId> Unreachable { get; }

    /// <summary>The membership leader (the member that moves others through their lifecycle).</summary>
    public NodeId Leader { get; }

    /// <summary>True when every member has seen this membership and none is unreachable.</summary>
    public bool IsConverged { get; }

    /// <summary>The status of <paramref name="node"/>; null when it has no record.</summary>
    public MemberStatus? StatusOf(NodeId node) => Members.TryGetValue(node, out var member) ? member.Status : null;

    /// <summary>The record of <paramref name="node"/>.</summary>
    public bool TryGetMember(NodeId node, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Member? member) =>
        Members.TryGetValue(node, out member);

    /// <summary>The members with status <paramref name="status"/>, by NodeId.</summary>
    public IEnumerable<Member> MembersIn(MemberStatus status) => Members.Values.Where(m => m.Status == status);

    /// <summary>False when some member suspects <paramref name="node"/>.</summary>
    public bool IsReachable(NodeId node) => !Unreachable.Contains(node);

    /// <inheritdoc />
    public bool Equals(ClusterMembers? other) =>
        other is not null && (ReferenceEquals(this, other) ||
            (Leader == other.Leader && IsConverged == other.IsConverged && Unreachable.SetEquals(other.Unreachable)
             && Members.Count == other.Members.Count && Members.All(p => other.Members.TryGetValue(p.Key, out var m) && m.Equals(p.Value))));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ClusterMembers);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Members.Count, Unreachable.Count, Leader);

    /// <inheritdoc />
    public override string ToString() =>
        string.Join("\n", Members.Values.Select(m => "  " + m + (Unreachable.Contains(m.Id) ? " (unreachable)" : "")));
}
