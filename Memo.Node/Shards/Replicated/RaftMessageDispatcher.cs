using System.Collections.Concurrent;
using System.Threading.Channels;
using Memo.Node.Transport;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// Routes inbound Raft messages of a node's transport to the replica of their shard. The node has one
/// <see cref="IPeerTransport.Inbound"/> reader (gossip shares it), which calls <see cref="Dispatch"/> for each
/// Raft message; <see cref="RunAsync"/> is that reader when Raft is its only user (tests).
/// </summary>
public sealed class RaftMessageDispatcher
{
    private readonly ConcurrentDictionary<ShardId, ShardGroupReplica> _replicas = new();
    private long _unrouted;

    /// <summary>Raft messages that found no replica (unknown shard, replica stopped, or its mailbox full).</summary>
    public long UnroutedMessages => Interlocked.Read(ref _unrouted);

    /// <summary>Routes the shard's messages to <paramref name="replica"/> (replacing a previous replica of the shard).</summary>
    public void Register(ShardGroupReplica replica) => _replicas[replica.Shard] = replica;

    /// <summary>Stops routing to <paramref name="replica"/> (no effect if another replica has replaced it).</summary>
    public void Unregister(ShardGroupReplica replica) => _replicas.TryRemove(new KeyValuePair<ShardId, ShardGroupReplica>(replica.Shard, replica));

    /// <summary>Hands a Raft message to its shard's replica; false (and counted) when it was not a Raft message or was dropped.</summary>
    public bool Dispatch(InboundPeerMessage message)
    {
        if (message.Message.Channel == PeerChannelKind.Raft && message.Message.Shard is { } shard
            && _replicas.TryGetValue(shard, out var replica) && replica.Deliver(message.From, message.Message.Body))
        {
            return true;
        }
        Interlocked.Increment(ref _unrouted);
        return false;
    }

    /// <summary>Reads <paramref name="inbound"/> until it completes or <paramref name="cancellationToken"/> fires, dispatching every message.</summary>
    public async Task RunAsync(ChannelReader<InboundPeerMessage> inbound, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        try
        {
            await foreach (var message in inbound.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Dispatch(message);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
