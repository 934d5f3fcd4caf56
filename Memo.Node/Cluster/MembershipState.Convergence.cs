using System.Collections.Immutable;

namespace Memo.Node.Cluster;

public sealed partial class MembershipState
{
    /// <summary>False when a live observer suspects <paramref name="subject"/>. Rows of Down observers are ignored:
    /// a dead node's old suspicions must not block the living.</summary>
    public bool IsReachable(NodeId subject)
    {
        foreach (var (observer, row) in Reachability.Observers)
        {
            if (row.Unreachable.Contains(subject) && IsLiveObserver(observer))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The members some live observer suspects (see <see cref="IsReachable"/>).</summary>
    public ImmutableSortedSet<NodeId> Unreachable
    {
        get
        {
            var builder = ImmutableSortedSet.CreateBuilder<NodeId>();
            foreach (var (observer, row) in Reachability.Observers)
            {
                if (IsLiveObserver(observer))
                {
                    builder.UnionWith(row.Unreachable);
                }
            }
            return builder.ToImmutable();
        }
    }

    /// <summary>
    /// True when every Up or Leaving member is reachable and has seen this version: all full members agree on it,
    /// so the leader may take the next lifecycle step. Joining, Exiting and Down members do not hold it back.
    /// </summary>
    public bool IsConverged
    {
        get
        {
            var unreachable = Unreachable;
            foreach (var member in Members.Values)
            {
                if (member.Status.IsFullMember() && (!SeenBy.Contains(member.Id) || unreachable.Contains(member.Id)))
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>
    /// The membership leader: the lowest NodeId among reachable Up or Leaving members; when there is none, the lowest
    /// among reachable Joining members (so the first node can bring itself Up); else <see cref="NodeId.None"/>. A
    /// function of the state alone: nodes holding equal states name the same leader. During a partition each side
    /// names its own, which is harmless because the leader only acts on convergence, and convergence needs every
    /// full member reachable.
    /// </summary>
    public NodeId Leader
    {
        get
        {
            var unreachable = Unreachable;
            var joining = NodeId.None;
            foreach (var member in Members.Values)
            {
                if (unreachable.Contains(member.Id))
                {
                    continue;
                }
                if (member.Status.IsFullMember())
                {
                    return member.Id; // Members are sorted by NodeId: the first one found is the lowest.
                }
                if (member.Status == MemberStatus.Joining && joining.IsNone)
                {
                    joining = member.Id;
                }
            }
            return joining;
        }
    }

    private bool IsLiveObserver(NodeId observer) => Members.TryGetValue(observer, out var m) && m.Status.IsLive();
}
