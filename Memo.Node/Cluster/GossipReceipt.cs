namespace Memo.Node.Cluster;

/// <summary>The result of <see cref="GossipProtocol.Receive"/>.</summary>
/// <param name="Outcome">Whether the state was merged, and if not why.</param>
/// <param name="State">The new local state (the old one unless <see cref="GossipReceiveOutcome.Merged"/>).</param>
/// <param name="Order">How the local version related to the received one before merging.</param>
/// <param name="Reply">What to send back to the sender.</param>
public sealed record GossipReceipt(GossipReceiveOutcome Outcome, MembershipState State, VersionOrder Order, GossipReply Reply)
{
    /// <summary>True when the local state changed (new content or a larger seen set).</summary>
    public bool Changed { get; init; }
}
