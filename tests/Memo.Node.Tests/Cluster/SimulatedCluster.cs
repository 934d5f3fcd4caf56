using System.Collections.Immutable;
using System.Text;
using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

/// <summary>
/// The pure cluster cores wired together the way the runtime will wire them, in one thread, with logical time and
/// one seeded PRNG: heartbeats feed the failure detectors, suspicions go into the membership, gossip spreads it,
/// leaders act on convergence, the downing rule downs the unreachable side. Links can be cut to make partitions.
/// </summary>
internal sealed class SimulatedCluster
{
    public const long RoundMillis = 1000;

    private readonly DeterministicRandom _random;
    private readonly SortedDictionary<NodeId, Node> _nodes = [];
    private readonly HashSet<(NodeId, NodeId)> _cut = [];
    private readonly TimeSpan _evictionDelay;

    public SimulatedCluster(ulong seed, TimeSpan evictionDelay)
    {
        Seed = seed;
        _random = new DeterministicRandom(seed);
        _evictionDelay = evictionDelay;
    }

    public sealed class Node(NodeId id, Member record)
    {
        public NodeId Id { get; } = id;
        public Member Record { get; } = record;
        public MembershipState State { get; set; } = MembershipState.Empty;
        public FailureDetectorRegistry Detectors { get; } = new(Detector(acceptablePauseMillis: 2000));
        public ImmutableSortedDictionary<NodeId, long> UnreachableSince { get; set; } = ImmutableSortedDictionary<NodeId, long>.Empty;
        public bool Crashed { get; set; }
        public DowningDecision? LastDecision { get; set; }
        public bool Stopped => Crashed || LastDecision is DowningDecision.StopServing;
    }

    public ulong Seed { get; }

    public long Now { get; private set; }

    public IReadOnlyDictionary<NodeId, Node> Nodes => _nodes;

    public IEnumerable<Node> Running => _nodes.Values.Where(n => !n.Stopped);

    /// <summary>Starts node n; the first node started forms the cluster, later ones ask <paramref name="seed"/> to admit them.</summary>
    public void Start(int n, int seed = 1)
    {
        var node = new Node(Id(n), Member.Joining(Id(n), AddressOf(n), RingTokens.Draw(_random, VirtualNodes)));
        _nodes.Add(node.Id, node);
        if (_nodes.Count == 1)
        {
            node.State = MembershipState.Empty.Join(node.Id, node.Record, MaxMembers);
            return;
        }
        var contact = _nodes[Id(seed)];
        Assert.Equal(JoinCheck.Admit, contact.State.CheckJoin(node.Record, MaxMembers));
        contact.State = contact.State.Join(contact.Id, node.Record, MaxMembers);
        Deliver(contact, node);
    }

    public void Crash(int n) => _nodes[Id(n)].Crashed = true;

    public void Leave(int n) => _nodes[Id(n)].State = _nodes[Id(n)].State.Leave(Id(n), Id(n));

    /// <summary>Cuts every link between the two groups, both ways.</summary>
    public void Partition(IEnumerable<int> a, IEnumerable<int> b)
    {
        foreach (var x in a)
        {
            foreach (var y in b)
            {
                _cut.Add((Id(x), Id(y)));
                _cut.Add((Id(y), Id(x)));
            }
        }
    }

    private bool CanTalk(Node from, Node to) => !from.Stopped && !to.Stopped && !_cut.Contains((from.Id, to.Id));

    /// <summary>One gossip interval of every running node.</summary>
    public void Round()
    {
        Now += RoundMillis;
        foreach (var node in Running)
        {
            // Heartbeats from every peer that can reach this node.
            foreach (var peer in node.State.Members.Values.Where(m => m.Id != node.Id && m.Status.IsLive()))
            {
                if (_nodes.TryGetValue(peer.Id, out var sender) && CanTalk(sender, node))
                {
                    node.Detectors.Heartbeat(peer.Id, Now);
                }
            }
        }
        foreach (var node in Running)
        {
            foreach (var peer in node.State.Members.Values.Where(m => m.Id != node.Id && m.Status != MemberStatus.Removed))
            {
                node.State = node.Detectors.IsAvailable(peer.Id, Now)
                    ? node.State.MarkReachable(node.Id, peer.Id)
                    : node.State.MarkUnreachable(node.Id, peer.Id);
            }
        }
        foreach (var node in Running.ToList())
        {
            var target = GossipProtocol.SelectTarget(node.State, node.Id, _random, 0.8);
            if (target.IsNone || !CanTalk(node, _nodes[target]))
            {
                continue;
            }
            var peer = _nodes[target];
            if (GossipProtocol.NeedsFullState(node.State, target))
            {
                Deliver(node, peer);
                continue;
            }
            switch (GossipProtocol.OnStatus(peer.State, GossipProtocol.StatusOf(node.Id, node.State)))
            {
                case GossipReply.SendState:
                    Deliver(peer, node);
                    break;
                case GossipReply.RequestState:
                    Deliver(node, peer);
                    break;
            }
        }
        foreach (var node in Running.ToList())
        {
            node.State = node.State.LeaderActions(node.Id);
            node.UnreachableSince = DowningDecider.TrackUnreachable(node.UnreachableSince, node.State, node.Id, Now);
            node.LastDecision = DowningDecider.Decide(node.State, node.Id, node.UnreachableSince, Now, _evictionDelay);
            if (node.LastDecision is DowningDecision.Down down && node.State.Leader == node.Id)
            {
                foreach (var member in down.Members)
                {
                    node.State = node.State.Down(node.Id, member);
                }
            }
        }
    }

    private void Deliver(Node from, Node to)
    {
        var receipt = GossipProtocol.Receive(to.State, to.Id, GossipProtocol.Envelope(from.Id, to.Id, from.State));
        to.State = receipt.State;
        if (receipt.Reply == GossipReply.SendState && CanTalk(to, from))
        {
            var back = GossipProtocol.Receive(from.State, from.Id, GossipProtocol.Envelope(to.Id, from.Id, to.State));
            from.State = back.State;
        }
    }

    /// <summary>Runs rounds until <paramref name="done"/> holds; fails with the seed, the phase and every node's state
    /// after <paramref name="maxRounds"/>.</summary>
    public int RunUntil(string phase, Func<bool> done, int maxRounds = 300)
    {
        for (var round = 0; round < maxRounds; round++)
        {
            if (done())
            {
                return round;
            }
            Round();
        }
        if (done())
        {
            return maxRounds;
        }
        throw new Xunit.Sdk.XunitException($"seed {Seed}: phase '{phase}' not reached after {maxRounds} rounds.\n{Describe()}");
    }

    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var node in _nodes.Values)
        {
            text.Append("node ").Append(node.Id).Append(node.Crashed ? " (crashed)" : node.Stopped ? " (stopped)" : "")
                .Append(", decision ").Append(node.LastDecision).AppendLine().Append(node.State).AppendLine();
        }
        return text.ToString();
    }

    /// <summary>True when every running node holds the same state, it has converged, and the statuses are as given.</summary>
    public bool AgreeOn(IReadOnlyDictionary<int, MemberStatus> statuses)
    {
        var running = Running.ToList();
        var first = running[0].State;
        return running.All(n => n.State.Equals(first)) && first.IsConverged
            && statuses.All(s => first.StatusOf(Id(s.Key)) == s.Value);
    }
}
