namespace Memo.Node.Cluster;

// Lifecycle of a member, as Akka.Cluster runs it (AkkaMemberMapping maps Akka's statuses onto these; WeaklyUp is
// Joining here). Every legal transition moves to a higher number (in brackets).
//
//   [0] Joining ----(leader, on convergence)----> [1] Up
//        |   |                                      |
//        |   +-------------(leave)-------+          | (leave)
//        |                               v          v
//        |                            [2] Leaving <-+
//        |                               |
//        |                               | (leader, on convergence)
//        |                               v
//        |                            [3] Exiting ----(leader, after the node's hand-off)--> [5] Removed
//        |                                                                              ^
//        +----(down; also from Up, Leaving, Exiting)----> [4] Down ---------------------+
//                                                                (leader, on convergence)
//
// A NodeId that reached Down or Removed is retired for good: the node must draw a new NodeId to join again.

/// <summary>
/// Where a member is in its lifecycle (see the diagram above the type). The numeric values are on the admin wire
/// (<c>memo cluster show</c>), so they never change.
/// </summary>
public enum MemberStatus
{
    /// <summary>Admitted to the membership, not yet given shards; the leader moves it Up on convergence.</summary>
    Joining = 0,

    /// <summary>A full member: owns ring tokens and holds shard replicas.</summary>
    Up = 1,

    /// <summary>Asked to leave: out of the ring, handing its shard replicas off.</summary>
    Leaving = 2,

    /// <summary>Leaving as far as Akka is concerned; the node still hands its replicas off, and Akka removes it only
    /// after that (its coordinated shutdown confirms the exit).</summary>
    Exiting = 3,

    /// <summary>Declared dead (by the downing rule or an operator); removed on the next convergence.</summary>
    Down = 4,

    /// <summary>Gone for good (Akka then forgets the member: a removed NodeId usually has no record at all).</summary>
    Removed = 5,
}
