using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Forwarding;

public sealed partial class ShardForwarder
{
    [LoggerMessage(EventId = 6201, Level = LogLevel.Warning, Message = "A forwarding message from node {Node} was malformed and dropped or refused: {Problem}")]
    private partial void LogMalformed(NodeId node, string problem);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Error, Message = "Serving a forwarded {Kind} from node {Node} failed")]
    private partial void LogServeFailed(Exception exception, NodeId node, string kind);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Information, Message = "A block copy from node {Node} arriving in parts was dropped (its sender retries): {Problem}")]
    private partial void LogCopyPartRefused(NodeId node, string problem);
}
