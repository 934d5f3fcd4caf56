namespace Memo.Node.Cluster;

/// <summary>A full gossip message: the sender's whole membership state, addressed to one member.</summary>
/// <param name="From">The sender; must be a live member in <paramref name="State"/>.</param>
/// <param name="To">The intended receiver; a node that is not it ignores the message (it may be a new node at a
/// reused address).</param>
/// <param name="State">The sender's state, already marked as seen by the sender.</param>
public sealed record GossipEnvelope(NodeId From, NodeId To, MembershipState State);
