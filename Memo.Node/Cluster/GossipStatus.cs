namespace Memo.Node.Cluster;

/// <summary>A gossip digest: who sends it and which version it holds. Cheaper than the state; the receiver answers
/// with <see cref="GossipProtocol.OnStatus"/>.</summary>
/// <param name="From">The sender.</param>
/// <param name="Version">The version of the sender's state.</param>
public sealed record GossipStatus(NodeId From, VersionVector Version);
