using Memo.Node.Routing;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards.Forwarding;

/// <summary>What serves the calls other nodes forward to this one: the node's shard host (its replicas).</summary>
public interface IForwardedCallHandler
{
    /// <summary>The network's shard layout (requests naming another shard are refused as invalid).</summary>
    ShardLayout Layout { get; }

    /// <summary>Proposes a command to this node's replica of the shard; expected outcomes are values in the reply.</summary>
    Task<ProposeReply> ServeProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken);

    /// <summary>A linearizable read (an entry, a block or a scan) with this node's replicas.</summary>
    Task<ReadReply> ServeReadAsync(ReadRequest request, CancellationToken cancellationToken);

    /// <summary>The status of every replica hosted here, now; cheap and synchronous.</summary>
    ReplicaStatusReply ServeStatus();
}
