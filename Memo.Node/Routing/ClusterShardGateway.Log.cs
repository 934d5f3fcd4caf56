using Microsoft.Extensions.Logging;

namespace Memo.Node.Routing;

public sealed partial class ClusterShardGateway
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Debug, Message = "Forwarding a request of shard {Shard} to node {Node} failed: {Problem}")]
    private partial void LogForwardFailed(ShardId shard, NodeId node, string problem);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Reclaiming value block {Address} failed ({Problem}); it stays as garbage")]
    private partial void LogReclaimFailed(string address, string problem);
}
