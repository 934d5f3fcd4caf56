namespace Memo.Node.Cluster;

// Design note: one gossip round (Akka's cluster gossip, simplified). Every gossip interval the membership actor
// picks a target with SelectTarget. If the target has not seen the local version (it is not in SeenBy) it sends the
// full state (GossipEnvelope), else only its status (GossipStatus: version and seen set). A receiver of a status
// compares (OnStatus): if it is ahead or concurrent, or at the same version knows of more viewers, it sends its
// state; if the sender is ahead or knows of more viewers, it sends its own status back so the sender sends its state.
// A receiver of a state merges it, marks itself as having seen the result, and sends its state back if the sender
// was missing something (Receive). Seen sets must travel both ways even when versions are equal: convergence, and so
// every leader action, waits until the leader knows that every full member has seen the version. Preferring targets
// that have not seen the latest version spreads a change in about log(n) rounds.

/// <summary>The pure decisions of a gossip round: what to send to whom, and how to take what was received.</summary>
public static class GossipProtocol
{
    /// <summary>The digest of <paramref name="state"/> that <paramref name="self"/> sends.</summary>
    public static GossipStatus StatusOf(NodeId self, MembershipState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var seen = state.Seen(self);
        return new GossipStatus(self, seen.Version, seen.SeenBy);
    }

    /// <summary>The full-state message from <paramref name="self"/> to <paramref name="target"/>; the state is marked as
    /// seen by the sender first, so the receiver learns that too.</summary>
    public static GossipEnvelope Envelope(NodeId self, NodeId target, MembershipState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new GossipEnvelope(self, target, state.Seen(self));
    }

    /// <summary>True when <paramref name="target"/> should get the full state rather than a status: it has not seen
    /// this version.</summary>
    public static bool NeedsFullState(MembershipState state, NodeId target)
    {
        ArgumentNullException.ThrowIfNull(state);
        return !state.SeenBy.Contains(target);
    }

    /// <summary>How to answer a peer's status: send our state when we are ahead or concurrent, ask for theirs when
    /// they are ahead. With equal versions, the seen sets decide: send ours if we know of viewers they do not, else ask
    /// for theirs if they know of viewers we do not, else nothing.</summary>
    public static GossipReply OnStatus(MembershipState local, GossipStatus remote)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        return local.Version.Compare(remote.Version) switch
        {
            VersionOrder.Same when !local.SeenBy.IsSubsetOf(remote.SeenBy) => GossipReply.SendState,
            VersionOrder.Same when !remote.SeenBy.IsSubsetOf(local.SeenBy) => GossipReply.RequestState,
            VersionOrder.Same => GossipReply.None,
            VersionOrder.Older => GossipReply.RequestState,
            _ => GossipReply.SendState,
        };
    }

    /// <summary>
    /// Takes a full state received by <paramref name="self"/>: checks the address and the sender, merges, and marks
    /// the result as seen by <paramref name="self"/>. Replies with our state when we had something the sender lacked:
    /// changes (we were newer or concurrent) or, at the same version, viewers it did not know of.
    /// </summary>
    public static GossipReceipt Receive(MembershipState local, NodeId self, GossipEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(envelope);
        var order = local.CompareVersion(envelope.State);
        if (envelope.To != self)
        {
            return new GossipReceipt(GossipReceiveOutcome.Misaddressed, local, order, GossipReply.None);
        }
        if (local.StatusOf(self) is { } own && !own.IsLive())
        {
            return new GossipReceipt(GossipReceiveOutcome.SelfRetired, local, order, GossipReply.None);
        }
        var senderThere = envelope.State.StatusOf(envelope.From);
        var senderHere = local.StatusOf(envelope.From);
        if (senderThere is not { } there || !there.IsLive() || senderHere is { } here && !here.IsLive())
        {
            return new GossipReceipt(GossipReceiveOutcome.UnknownSender, local, order, GossipReply.None);
        }
        var merged = local.Merge(envelope.State).Seen(self);
        var senderLacks = order is VersionOrder.Newer or VersionOrder.Concurrent
            || (order == VersionOrder.Same && !merged.SeenBy.IsSubsetOf(envelope.State.SeenBy));
        var reply = senderLacks ? GossipReply.SendState : GossipReply.None;
        return new GossipReceipt(GossipReceiveOutcome.Merged, merged, order, reply) { Changed = !merged.Equals(local) };
    }

    /// <summary>
    /// Picks the member <paramref name="self"/> gossips to next: a live member other than itself that its own failure
    /// detector does not suspect. With probability <paramref name="preferUnseenProbability"/>, and always when nobody
    /// else has seen it, the pick is among those that have not seen the current version (if any); otherwise among all.
    /// Returns <see cref="NodeId.None"/> when there is nobody to gossip to.
    /// </summary>
    public static NodeId SelectTarget(MembershipState state, NodeId self, DeterministicRandom random, double preferUnseenProbability)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(random);
        if (preferUnseenProbability is < 0 or > 1 or double.NaN)
        {
            throw new ArgumentOutOfRangeException(nameof(preferUnseenProbability), preferUnseenProbability, "A probability is between 0 and 1.");
        }
        var suspected = state.Reachability.UnreachableBy(self);
        var all = new List<NodeId>();
        var unseen = new List<NodeId>();
        foreach (var member in state.Members.Values)
        {
            if (member.Id == self || !member.Status.IsLive() || suspected.Contains(member.Id))
            {
                continue;
            }
            all.Add(member.Id);
            if (!state.SeenBy.Contains(member.Id))
            {
                unseen.Add(member.Id);
            }
        }
        if (all.Count == 0)
        {
            return NodeId.None;
        }
        // Draw the coin first and always, so the number of draws per round does not depend on the state.
        var preferUnseen = random.NextDouble() < preferUnseenProbability;
        var pool = unseen.Count > 0 && (preferUnseen || unseen.Count == all.Count) ? unseen : all;
        return pool[random.Next(pool.Count)];
    }
}
