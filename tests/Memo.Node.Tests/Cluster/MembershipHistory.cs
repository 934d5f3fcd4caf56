using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

/// <summary>
/// Random but legal membership histories: several replicas, each acting only as itself (joins it admits, lifecycle
/// moves, suspicions, leader actions, seen marks) and exchanging gossip in random order. Every state any replica
/// held is kept, so properties can be checked on states with shared, concurrent and divergent pasts. Deterministic
/// from the seed.
/// </summary>
internal static class MembershipHistory
{
    public const int Nodes = 6;

    public static IReadOnlyList<MembershipState> Run(int seed, int steps)
    {
        var random = new DeterministicRandom((ulong)seed);
        var replicas = new MembershipState[Nodes + 1]; // index = node number, 1-based
        Array.Fill(replicas, MembershipState.Empty);
        replicas[1] = MembershipState.Empty.Join(Id(1), Joining(1), MaxMembers);
        var history = new List<MembershipState> { MembershipState.Empty, replicas[1] };

        for (var step = 0; step < steps; step++)
        {
            var r = 1 + random.Next(Nodes);
            var self = Id(r);
            var state = replicas[r];
            if (state.StatusOf(self) is not { } own || !own.IsLive())
            {
                continue; // not a member yet, or retired: it does not act
            }
            var members = state.Members.Keys.ToArray();
            var subject = members[random.Next(members.Length)];
            switch (random.Next(8))
            {
                case 0: // admit a node that asked this replica to join; the joiner receives the result
                    var j = 1 + random.Next(Nodes);
                    if (state.CheckJoin(Joining(j), MaxMembers) == JoinCheck.Admit)
                    {
                        state = state.Join(self, Joining(j), MaxMembers);
                        replicas[j] = replicas[j].Merge(state).Seen(Id(j));
                        history.Add(replicas[j]);
                    }
                    break;
                case 1: // gossip to a random node
                case 2:
                    var t = 1 + random.Next(Nodes);
                    if (t != r)
                    {
                        var receipt = GossipProtocol.Receive(replicas[t], Id(t), GossipProtocol.Envelope(self, Id(t), state));
                        replicas[t] = receipt.State;
                        history.Add(receipt.State);
                        if (receipt.Reply == GossipReply.SendState)
                        {
                            state = state.Merge(receipt.State).Seen(self);
                        }
                    }
                    break;
                case 3:
                    state = state.LeaderActions(self, random.Next(2) == 0 ? null : new HashSet<NodeId>());
                    break;
                case 4: // a lifecycle move the table allows
                    var to = (MemberStatus)random.Next(6);
                    if (MemberStatusTransitions.IsAllowed(state.Members[subject].Status, to))
                    {
                        state = state.Transition(self, subject, to);
                    }
                    break;
                case 5:
                case 6:
                    if (subject != self && state.Members[subject].Status != MemberStatus.Removed)
                    {
                        state = random.Next(2) == 0 ? state.MarkUnreachable(self, subject) : state.MarkReachable(self, subject);
                    }
                    break;
                default:
                    state = state.Seen(self);
                    break;
            }
            replicas[r] = state;
            history.Add(state);
        }
        return history;
    }
}
