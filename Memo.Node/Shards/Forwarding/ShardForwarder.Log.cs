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

    // Debug: once a part is lost, every later part of its transfer is refused too; the request that ends the transfer
    // logs the drop once (LogCopyPartRefused).
    [LoggerMessage(EventId = 6204, Level = LogLevel.Debug, Message = "A block copy part from node {Node} was refused: {Problem}")]
    private partial void LogCopyPartNotTaken(NodeId node, string problem);
}
