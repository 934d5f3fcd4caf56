using System.Diagnostics.Metrics;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Shards.Hosting;

namespace Memo.Node.Metrics;

/// <summary>
/// One node's state as observable gauges, read when a scrape asks (nothing is recorded on any hot path): Raft per
/// shard replica hosted here (term, commit and applied index, leadership), membership (members by status,
/// unreachable, serving), rebalancing (moves in flight), the peer links' counters (messages and batches sent, the
/// coalescing the link achieves), and a counter of members this node saw downed (the split brain resolver's or an
/// operator's decisions). Every series carries a <c>node</c> tag with the node's id.
/// </summary>
public sealed class NodeStateMetrics : IDisposable
{
    private static readonly MemberStatus[] Statuses = Enum.GetValues<MemberStatus>();

    private readonly Meter _meter;
    private readonly ClusterMembership _cluster;
    private readonly Counter<long> _downs;
    private readonly KeyValuePair<string, object?> _node;
    private ClusterView? _previous;

    /// <summary>Publishes the gauges of one node; dispose to withdraw them.</summary>
    /// <param name="cluster">The node's membership (its published view).</param>
    /// <param name="shards">The node's shard host (its replicas and moves).</param>
    /// <param name="links">The node's peer transport (its links' counters); null publishes no link series.</param>
    public NodeStateMetrics(ClusterMembership cluster, ShardHost shards, Transport.IPeerTransport? links = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(shards);
        _cluster = cluster;
        _node = new KeyValuePair<string, object?>("node", cluster.Self.ToString());
        _meter = new Meter(NodeMetrics.MeterName);
        var node = _node;

        _meter.CreateObservableGauge("memo.raft.term", () => Replicas(shards, s => (long)s.Term.Value), "{term}",
            "Raft term of each shard replica hosted here.");
        _meter.CreateObservableGauge("memo.raft.commit_index", () => Replicas(shards, s => (long)s.Commit.Value), "{entry}",
            "Commit index of each shard replica hosted here.");
        _meter.CreateObservableGauge("memo.raft.applied_index", () => Replicas(shards, s => (long)s.Applied.Value), "{entry}",
            "Applied index of each shard replica hosted here.");
        _meter.CreateObservableGauge("memo.raft.leader", () => Replicas(shards, s => s.IsLeader ? 1L : 0L), "{leader}",
            "1 for each shard replica hosted here that leads its group, else 0.");
        _meter.CreateObservableGauge("memo.cluster.members", () => Members(node), "{member}",
            "Members by status as this node sees them.");
        _meter.CreateObservableGauge("memo.cluster.unreachable", () => new Measurement<long>(_cluster.View.Unreachable.Count, node), "{member}",
            "Members this node's failure detector marks unreachable.");
        _meter.CreateObservableGauge("memo.cluster.serving", () => new Measurement<long>(_cluster.View.IsServing ? 1 : 0, node), "{node}",
            "1 while this node serves (an Up member on the serving side), else 0: the readiness probe's answer.");
        _meter.CreateObservableGauge("memo.rebalance.moves", () => new Measurement<long>(shards.MovesInFlight, node), "{move}",
            "Shard moves (replica set changes led by this node) in flight.");
        if (links is not null)
        {
            // Sent / batches is the coalescing: every batch costs Akka.Remote a message, a frame and a socket write.
            _meter.CreateObservableCounter("memo.peer.messages.sent", () => Links(links, s => s.Sent), "{message}",
                "Raft and forwarding messages written to each peer's link.");
            _meter.CreateObservableCounter("memo.peer.batches.sent", () => Links(links, s => s.SentBatches), "{batch}",
                "Batches (Akka.Remote messages) written to each peer's link; messages.sent / batches.sent is the coalescing.");
            _meter.CreateObservableCounter("memo.peer.messages.received", () => Links(links, s => s.Received), "{message}",
                "Messages received from each peer.");
            _meter.CreateObservableCounter("memo.peer.messages.dropped", () => Links(links, s => s.Dropped + s.DroppedInboundFull), "{message}",
                "Messages to or from each peer dropped (queue full, peer unreachable, inbound channel full).");
        }
        _downs = _meter.CreateCounter<long>("memo.cluster.downs", "{member}",
            "Members this node saw become Down: the split brain resolver's (or an operator's) downing decisions.");

        _previous = cluster.View;
        cluster.ViewChanged += OnView;
    }

    private IEnumerable<Measurement<long>> Replicas(ShardHost shards, Func<Shards.Replicated.ShardGroupStatus, long> value)
    {
        foreach (var replica in shards.Replicas)
        {
            var status = replica.Status;
            if (status.StopReason is null)
            {
                yield return new Measurement<long>(value(status), _node, new KeyValuePair<string, object?>("shard", status.Shard.Value));
            }
        }
    }

    private IEnumerable<Measurement<long>> Links(Transport.IPeerTransport links, Func<Transport.PeerLinkStats, long> value)
    {
        foreach (var link in links.GetLinkStats())
        {
            yield return new Measurement<long>(value(link), _node, new KeyValuePair<string, object?>("peer", link.Peer.ToString()));
        }
    }

    private IEnumerable<Measurement<long>> Members(KeyValuePair<string, object?> node)
    {
        var members = _cluster.View.Membership;
        foreach (var status in Statuses)
        {
            yield return new Measurement<long>(members.MembersIn(status).Count(), node,
                new KeyValuePair<string, object?>("status", status.ToString().ToLowerInvariant()));
        }
    }

    // The view is published on the membership's thread; a member counts once, on the view where it first shows Down.
    private void OnView(ClusterView view)
    {
        var previous = Interlocked.Exchange(ref _previous, view);
        foreach (var member in view.Membership.MembersIn(MemberStatus.Down))
        {
            if (previous?.Membership.StatusOf(member.Id) != MemberStatus.Down)
            {
                _downs.Add(1, _node);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cluster.ViewChanged -= OnView;
        _meter.Dispose();
    }
}
