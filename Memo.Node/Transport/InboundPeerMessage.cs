namespace Memo.Node.Transport;

/// <summary>A message received from a peer, with the sender's identity as it proved it in the link's hello.</summary>
/// <param name="From">The node that sent the message.</param>
/// <param name="Message">The message as the sender gave it to its transport.</param>
public readonly record struct InboundPeerMessage(NodeId From, PeerMessage Message);
