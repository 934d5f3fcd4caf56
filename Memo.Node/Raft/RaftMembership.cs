using System.Collections.Immutable;

namespace Memo.Node.Raft;

/// <summary>
/// A group configuration: the voters (whose majority elects leaders and commits entries) and the learners
/// (which receive the log but do not vote). Immutable; changes produce a new value, one server at a time.
/// </summary>
public sealed class RaftMembership : IEquatable<RaftMembership>
{
    private RaftMembership(ImmutableArray<NodeId> voters, ImmutableArray<NodeId> learners)
    {
        Voters = voters;
        Learners = learners;
    }

    /// <summary>No members: the state of a replica that has not yet received a configuration.</summary>
    public static RaftMembership Empty { get; } = new([], []);

    /// <summary>Voting members, ascending.</summary>
    public ImmutableArray<NodeId> Voters { get; }

    /// <summary>Non-voting members, ascending.</summary>
    public ImmutableArray<NodeId> Learners { get; }

    /// <summary>The number of voters that form a majority.</summary>
    public int Quorum => Voters.Length / 2 + 1;

    /// <summary>Creates a configuration; a node may not be both voter and learner, and ids must not be None.</summary>
    public static RaftMembership Create(IEnumerable<NodeId> voters, IEnumerable<NodeId>? learners = null)
    {
        var v = voters.Distinct().Order().ToImmutableArray();
        var l = (learners ?? []).Distinct().Order().ToImmutableArray();
        if (v.Any(n => n.IsNone) || l.Any(n => n.IsNone))
        {
            throw new ArgumentException("NodeId.None cannot be a member.");
        }

        if (v.Intersect(l).Any())
        {
            throw new ArgumentException("A node cannot be both voter and learner.");
        }

        return new RaftMembership(v, l);
    }

    /// <summary>True when <paramref name="node"/> is a voter.</summary>
    public bool IsVoter(NodeId node) => Voters.Contains(node);

    /// <summary>True when <paramref name="node"/> is a learner.</summary>
    public bool IsLearner(NodeId node) => Learners.Contains(node);

    /// <summary>True when <paramref name="node"/> is a voter or a learner.</summary>
    public bool Contains(NodeId node) => IsVoter(node) || IsLearner(node);

    /// <summary>Every member, voters first.</summary>
    public IEnumerable<NodeId> All => Voters.Concat(Learners);

    /// <summary>Why <paramref name="change"/> cannot be applied to this configuration, or null when it can.</summary>
    public string? Validate(ConfigChange change) => change.Kind switch
    {
        _ when change.Node.IsNone => "node id is None",
        ConfigChangeKind.AddLearner when Contains(change.Node) => "node is already a member",
        ConfigChangeKind.PromoteLearner when !IsLearner(change.Node) => "node is not a learner",
        ConfigChangeKind.Remove when !Contains(change.Node) => "node is not a member",
        ConfigChangeKind.Remove when IsVoter(change.Node) && Voters.Length == 1 => "cannot remove the last voter",
        ConfigChangeKind.AddLearner or ConfigChangeKind.PromoteLearner or ConfigChangeKind.Remove => null,
        _ => "unknown change kind",
    };

    /// <summary>The configuration after <paramref name="change"/>; an invalid change is a broken invariant.</summary>
    public RaftMembership Apply(ConfigChange change)
    {
        var problem = Validate(change);
        RaftInvariantException.ThrowIf(problem is not null, $"config change {change} on {this}: {problem}");
        return change.Kind switch
        {
            ConfigChangeKind.AddLearner => new RaftMembership(Voters, Learners.Add(change.Node).Sort()),
            ConfigChangeKind.PromoteLearner => new RaftMembership(Voters.Add(change.Node).Sort(), Learners.Remove(change.Node)),
            _ => new RaftMembership(Voters.Remove(change.Node), Learners.Remove(change.Node)),
        };
    }

    /// <inheritdoc />
    public bool Equals(RaftMembership? other) =>
        other is not null && Voters.SequenceEqual(other.Voters) && Learners.SequenceEqual(other.Learners);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as RaftMembership);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var v in Voters)
        {
            hash.Add(v);
        }

        hash.Add(-1);
        foreach (var l in Learners)
        {
            hash.Add(l);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"voters=({string.Join(",", Voters.Select(v => v.Value))})" + (Learners.IsEmpty ? "" : $" learners=({string.Join(",", Learners.Select(v => v.Value))})");
}
