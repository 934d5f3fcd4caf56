using System.Collections.Immutable;

namespace Memo.Node.Cluster;

/// <summary>A gossip digest: who sends it, which version it holds and who the sender knows has seen that version.
/// Cheaper than the state; the receiver answers with <see cref="GossipProtocol.OnStatus"/>.</summary>
/// <param name="From">The sender.</param>
/// <param name="Version">The version of the sender's state.</param>
/// <param name="SeenBy">The sender's seen set for that version; lets two nodes holding the same version find out
/// that one of them knows of more viewers, which convergence needs.</param>
public sealed record GossipStatus(NodeId From, VersionVector Version, ImmutableSortedSet<NodeId> SeenBy);
