using System.Collections.Immutable;
using Memo.Node.Configuration;
using Memo.Node.Transport;

namespace Memo.Node.Cluster.Runtime;

/// <summary>One Akka.Cluster member as the membership actor saw it, in memo's terms (no Akka types, so the mapping
/// below stays pure and is tested without an ActorSystem).</summary>
/// <param name="RemoteAddress">host:port of the member's Akka remoting endpoint.</param>
/// <param name="Status">Its status mapped to memo's lifecycle.</param>
/// <param name="UpNumber">Akka's up-number (age order; 0 before Up).</param>
/// <param name="Roles">Its Akka roles (identity roles included).</param>
/// <param name="Reachable">False when some member suspects it.</param>
/// <param name="IsLeader">True for the membership leader.</param>
public sealed record ObservedMember(string RemoteAddress, MemberStatus Status, int UpNumber, IReadOnlyCollection<string> Roles, bool Reachable, bool IsLeader);

/// <summary>What <see cref="AkkaMemberMapping.Map"/> makes of the observed members.</summary>
/// <param name="Members">One record per NodeId.</param>
/// <param name="RingMembers">The records placement uses: the Up members of this network, plus the last Up record of a
/// node still within its ring-removal delay.</param>
/// <param name="Foreign">Members whose identity is missing, whose network parameters differ from this node's or whose
/// peer transport is not this node's, with the reason; they are shown but never placed.</param>
public sealed record MappedMembers(ClusterMembers Members, ImmutableArray<Member> RingMembers, ImmutableSortedDictionary<string, string> Foreign);

/// <summary>
/// Turns Akka.Cluster's members into memo's <see cref="ClusterMembers"/> and the ring's input (pure).
/// </summary>
/// <remarks>
/// A node that restarts on its data folder keeps its NodeId but is a new Akka incarnation, so for a while two members
/// may carry one NodeId (the old one unreachable or Down, the new one Joining). The record shown is the most alive one:
/// Up or Leaving, then Joining, then Exiting, then Down or Removed; among equals the younger (higher up-number).
/// The ring holds Up members only; a node whose Up record disappeared (restarted, downed, removed) stays on the ring
/// with its last Up record while it is in <c>lingering</c> (the ring-removal delay), so a quick restart moves no shard.
/// </remarks>
public static class AkkaMemberMapping
{
    /// <summary>Maps the observed members for the node <paramref name="self"/>.</summary>
    /// <param name="self">This node's identity (its network parameters decide who is foreign).</param>
    /// <param name="observed">Every member Akka reports.</param>
    /// <param name="lingering">Last Up records of nodes within their ring-removal delay, by NodeId.</param>
    /// <param name="admit">On a network with an owner, the check of a member's storage passport (null when it may store
    /// data, else why not); it must decide from the identity alone, so every node places alike. Null: none.</param>
    /// <param name="peerTransport">This node's <c>memo.peer.transport</c>: a member on the other one is not placed
    /// (<see cref="PeerTransportMismatch"/>). Null: not checked.</param>
    public static MappedMembers Map(MemberIdentity self, IEnumerable<ObservedMember> observed, IReadOnlyDictionary<NodeId, Member> lingering,
        Func<MemberIdentity, string?>? admit = null, PeerTransportKind? peerTransport = null)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(lingering);
        var best = new Dictionary<NodeId, (Member Member, ObservedMember From)>();
        var foreign = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var unreachable = ImmutableSortedSet.CreateBuilder<NodeId>();
        var leader = NodeId.None;
        foreach (var member in observed)
        {
            if (!MemberIdentity.TryParse(member.Roles, out var identity, out var problem))
            {
                foreign[member.RemoteAddress] = problem;
                continue;
            }
            if (!identity.SameNetworkAs(self))
            {
                foreign[member.RemoteAddress] =
                    $"node {identity.Node} was made for {identity.DescribeNetwork()}; this node for {self.DescribeNetwork()}";
                continue;
            }
            if (peerTransport is { } transport && PeerTransportMismatch(transport, identity.Node, member.Roles) is { } mismatch)
            {
                foreign[member.RemoteAddress] = mismatch;
                continue;
            }
            // A member without a valid storage passport is never placed, even before the members down it.
            if (admit?.Invoke(identity) is { } refused)
            {
                foreign[member.RemoteAddress] = refused;
                continue;
            }
            var roles = member.Roles.Where(r => !MemberIdentity.IsIdentityRole(r) && r != "dc-default")
                .Append(RemoteRoleAddressing.RoleOf(member.RemoteAddress));
            Member record;
            try
            {
                record = Member.Create(identity.Node, identity.ApiAddress, member.Status, member.UpNumber, identity.Tokens, roles);
            }
            catch (ArgumentException e)
            {
                foreign[member.RemoteAddress] = e.Message;
                continue;
            }
            if (!best.TryGetValue(identity.Node, out var current) || Outranks(record, current.Member))
            {
                best[identity.Node] = (record, member);
            }
        }
        foreach (var (node, (_, from)) in best)
        {
            if (!from.Reachable)
            {
                unreachable.Add(node);
            }
            if (from.IsLeader)
            {
                leader = node;
            }
        }
        var members = best.ToImmutableSortedDictionary(p => p.Key, p => p.Value.Member);
        var ring = ImmutableArray.CreateBuilder<Member>();
        foreach (var member in members.Values)
        {
            if (member.Status == MemberStatus.Up)
            {
                ring.Add(member);
            }
            else if (member.Status is not (MemberStatus.Leaving or MemberStatus.Exiting) && lingering.TryGetValue(member.Id, out var last))
            {
                ring.Add(last);
            }
        }
        foreach (var (node, last) in lingering)
        {
            if (!members.ContainsKey(node))
            {
                ring.Add(last);
            }
        }
        var converged = unreachable.Count == 0 && members.Values.All(m => m.Status == MemberStatus.Up);
        return new MappedMembers(new ClusterMembers(members, unreachable.ToImmutable(), leader, converged), ring.ToImmutable(), foreign.ToImmutable());
    }

    /// <summary>
    /// Why a member cannot be a Raft peer of a node on <paramref name="transport"/>, or null when it can. A member on the
    /// TCP peer transport announces its listener in a <c>peer=</c> role; one on Akka remoting has none. The two cannot
    /// exchange Raft messages (a TCP node has nowhere to send to an Akka one, and an Akka node's messages reach no
    /// inbox on a TCP one), so a mixed network would stall its shard groups without a word; refused here instead.
    /// </summary>
    public static string? PeerTransportMismatch(PeerTransportKind transport, NodeId node, IEnumerable<string> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var theirs = RemoteRoleAddressing.AddressIn(roles, RemoteRoleAddressing.PeerPrefix) is null ? PeerTransportKind.Akka : PeerTransportKind.Tcp;
        return theirs == transport
            ? null
            : $"node {node} runs memo.peer.transport = {Name(theirs)} and this node {Name(transport)}: Raft cannot pass between them "
                + "(every member of a network must set the same memo.peer.transport)";
    }

    private static string Name(PeerTransportKind transport) => transport == PeerTransportKind.Tcp ? "tcp" : "akka";

    private static bool Outranks(Member candidate, Member current)
    {
        var a = Rank(candidate.Status);
        var b = Rank(current.Status);
        return a != b ? a > b : candidate.UpNumber > current.UpNumber;
    }

    private static int Rank(MemberStatus status) => status switch
    {
        MemberStatus.Up or MemberStatus.Leaving => 3,
        MemberStatus.Joining => 2,
        MemberStatus.Exiting => 1,
        _ => 0,
    };
}
