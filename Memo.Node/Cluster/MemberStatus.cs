namespace Memo.Node.Cluster;

// Lifecycle of a member. Every legal transition moves to a higher precedence (the numbers in brackets),
// which is what lets concurrent updates of one member merge by "highest precedence wins".
//
//   [0] Joining ----(leader, on convergence)----> [1] Up
//        |   |                                      |
//        |   +-------------(leave)-------+          | (leave)
//        |                               v          v
//        |                            [2] Leaving <-+
//        |                               |
//        |                               | (leader, on convergence, once hand-off is done)
//        |                               v
//        |                            [3] Exiting ----(leader, on convergence)----> [5] Removed
//        |                                                                              ^
//        +----(down; also from Up, Leaving, Exiting)----> [4] Down ---------------------+
//                                                                (leader, on convergence)
//
// A NodeId that reached Down or Removed is retired for good: the node must draw a new NodeId to join again.

/// <summary>
/// Where a member is in its lifecycle (see the diagram above the type). The numeric values are the merge
/// precedence and are persisted in gossip, so they never change.
/// </summary>
public enum MemberStatus
{
    /// <summary>Admitted to the membership, not yet given shards; the leader moves it Up on convergence.</summary>
    Joining = 0,

    /// <summary>A full member: owns ring tokens and holds shard replicas.</summary>
    Up = 1,

    /// <summary>Asked to leave: out of the ring, handing its shard replicas off.</summary>
    Leaving = 2,

    /// <summary>Hand-off done; the leader removes it on the next convergence.</summary>
    Exiting = 3,

    /// <summary>Declared dead (by the downing rule or an operator); removed on the next convergence.</summary>
    Down = 4,

    /// <summary>Gone for good; kept as a small tombstone so that stale gossip cannot bring it back.</summary>
    Removed = 5,
}
