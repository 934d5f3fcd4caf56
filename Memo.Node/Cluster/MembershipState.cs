using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Memo.Node.Cluster;

// Design note: the cluster membership as a state-based CRDT (Akka.NET's Gossip, without Akka).
//
// The state is an immutable value: member records, a version vector, a reachability table and the set of nodes
// that have seen this version. Every change is made by one node ("self") on its local copy and increments self's
// entry of the version vector; gossip ships whole states and the receiver merges. Merge is a join in a
// semilattice, hence commutative, associative and idempotent, so replicas converge whatever the gossip order:
//   members       per NodeId the record with the higher status precedence (Joining < Up < Leaving < Exiting <
//                 Down < Removed; every legal transition climbs it), up-number = maximum;
//   version       pointwise maximum;
//   reachability  per observer the row with the higher observer-local version;
//                 then rows of and entries about Removed members are dropped (Removed is absorbing, so dropping
//                 commutes with merging);
//   seen-by       the union of the seen sets of the inputs whose version equals the merged version (none if the
//                 inputs were concurrent: nobody has seen the merged state yet).
// Invariant the seen rule relies on: equal versions mean equal content. It holds because content only changes by
// a change that increments the changer's counter, and merged content is a function of the merged inputs.
//
// Convergence: every Up/Leaving member is reachable (no live observer suspects it) and has seen this version.
// Leader: the lowest NodeId among reachable Up/Leaving members (bootstrap: among reachable Joining members). It is
// a function of the state alone, so nodes holding the same state agree on it. Only the leader, and only on
// convergence, makes the lifecycle moves Joining->Up, Leaving->Exiting, Exiting->Removed, Down->Removed
// (LeaderActions), so every member has agreed on the previous step before the next one. Down is decided by the
// downing rule (DowningDecider) or an operator; Leave by the member itself or an operator.
//
// NodeIds are never reused: Down and Removed retire an id, and a Removed record stays as a small tombstone so a
// stale copy of the member cannot come back through merge.

/// <summary>
/// The cluster membership as one immutable, versioned, mergeable value (see the design note above). Changes return a
/// new state; <see cref="Merge"/> is commutative, associative and idempotent.
/// </summary>
public sealed partial class MembershipState : IEquatable<MembershipState>
{
    /// <summary>No members: the state of a node before it forms or joins a cluster.</summary>
    public static MembershipState Empty { get; } = new(
        ImmutableSortedDictionary<NodeId, Member>.Empty, VersionVector.Empty, ReachabilityTable.Empty, ImmutableSortedSet<NodeId>.Empty);

    private MembershipState(
        ImmutableSortedDictionary<NodeId, Member> members,
        VersionVector version,
        ReachabilityTable reachability,
        ImmutableSortedSet<NodeId> seenBy)
    {
        Members = members;
        Version = version;
        Reachability = reachability;
        SeenBy = seenBy;
        // Always on: a state that breaks an invariant would spread by gossip to every node.
        if (FindProblem() is { } problem)
        {
            throw new MembershipStateException(problem);
        }
    }

    /// <summary>Every member record, live and tombstones, by NodeId.</summary>
    public ImmutableSortedDictionary<NodeId, Member> Members { get; }

    /// <summary>The version: one counter per node that made changes.</summary>
    public VersionVector Version { get; }

    /// <summary>Who suspects whom.</summary>
    public ReachabilityTable Reachability { get; }

    /// <summary>The members known to have seen exactly this version.</summary>
    public ImmutableSortedSet<NodeId> SeenBy { get; }

    /// <summary>Rebuilds a state from its parts (decoding gossip). Returns false with a description when the parts
    /// break an invariant, which a state received from the network may.</summary>
    public static bool TryRestore(
        IEnumerable<Member> members,
        VersionVector version,
        ReachabilityTable reachability,
        IEnumerable<NodeId> seenBy,
        [NotNullWhen(true)] out MembershipState? state,
        [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(reachability);
        ArgumentNullException.ThrowIfNull(seenBy);
        state = null;
        var builder = ImmutableSortedDictionary.CreateBuilder<NodeId, Member>();
        foreach (var member in members)
        {
            if (member is null || !builder.TryAdd(member.Id, member))
            {
                problem = member is null ? "null member record" : $"member {member.Id} appears twice";
                return false;
            }
            if (builder.Count > MembershipLimits.MaxMemberRecords)
            {
                problem = $"more than {MembershipLimits.MaxMemberRecords} member records";
                return false;
            }
        }
        var candidate = new Parts(builder.ToImmutable(), version, reachability, ImmutableSortedSet.CreateRange(seenBy));
        problem = FindProblem(candidate);
        if (problem is not null)
        {
            return false;
        }
        state = new MembershipState(candidate.Members, version, reachability, candidate.SeenBy);
        return true;
    }

    /// <summary>True when <paramref name="node"/> has a record (live or tombstone).</summary>
    public bool TryGetMember(NodeId node, [NotNullWhen(true)] out Member? member) => Members.TryGetValue(node, out member);

    /// <summary>The status of <paramref name="node"/>, or null when it has no record.</summary>
    public MemberStatus? StatusOf(NodeId node) => Members.TryGetValue(node, out var member) ? member.Status : null;

    /// <summary>Members with the given status, by NodeId.</summary>
    public IEnumerable<Member> MembersIn(MemberStatus status) => Members.Values.Where(m => m.Status == status);

    private readonly record struct Parts(
        ImmutableSortedDictionary<NodeId, Member> Members,
        VersionVector Version,
        ReachabilityTable Reachability,
        ImmutableSortedSet<NodeId> SeenBy);

    private string? FindProblem() => FindProblem(new Parts(Members, Version, Reachability, SeenBy));

    private static string? FindProblem(Parts s)
    {
        if (s.Members.Count > MembershipLimits.MaxMemberRecords)
        {
            return $"more than {MembershipLimits.MaxMemberRecords} member records";
        }
        foreach (var (id, member) in s.Members)
        {
            if (member.Id != id)
            {
                return $"member {member.Id} is filed under {id}";
            }
        }
        foreach (var node in s.SeenBy)
        {
            if (!s.Members.ContainsKey(node))
            {
                return $"seen-by lists {node}, which is not a member";
            }
        }
        foreach (var (observer, row) in s.Reachability.Observers)
        {
            if (!s.Members.TryGetValue(observer, out var o) || o.Status == MemberStatus.Removed)
            {
                return $"reachability has a row for {observer}, which is not a current member";
            }
            foreach (var subject in row.Unreachable)
            {
                if (subject == observer)
                {
                    return $"{observer} observes itself unreachable";
                }
                if (!s.Members.TryGetValue(subject, out var m) || m.Status == MemberStatus.Removed)
                {
                    return $"{observer} observes {subject}, which is not a current member";
                }
            }
        }
        return null;
    }

    /// <inheritdoc />
    public bool Equals(MembershipState? other)
    {
        if (other is null)
        {
            return false;
        }
        if (ReferenceEquals(this, other))
        {
            return true;
        }
        if (Members.Count != other.Members.Count || !Version.Equals(other.Version) || !SeenBy.SetEquals(other.SeenBy) ||
            !Reachability.Equals(other.Reachability))
        {
            return false;
        }
        foreach (var (id, member) in Members)
        {
            if (!other.Members.TryGetValue(id, out var theirs) || !member.Equals(theirs))
            {
                return false;
            }
        }
        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as MembershipState);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Version, Members.Count, SeenBy.Count);

    /// <summary>A multi-line description for logs and test failures.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("version ").Append(Version).Append(", seen by {").Append(string.Join(", ", SeenBy)).Append('}');
        foreach (var member in Members.Values)
        {
            text.AppendLine().Append("  ").Append(member);
        }
        if (!Reachability.Observers.IsEmpty)
        {
            text.AppendLine().Append("  reachability: ").Append(Reachability);
        }
        return text.ToString();
    }
}
