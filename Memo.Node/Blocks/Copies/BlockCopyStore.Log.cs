using Microsoft.Extensions.Logging;

namespace Memo.Node.Blocks.Copies;

public sealed partial class BlockCopyStore
{
    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "This node's copy of block {Address} fails its check ({Reason}); dropped, anti-entropy restores it")]
    private partial void LogBadLocalCopy(string address, string reason);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Node {Node} sent a copy of block {Address} that fails its check ({Reason}); trying the next replica")]
    private partial void LogBadRemoteCopy(string address, NodeId node, string reason);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Error, Message = "Node {Node} refused a copy of block {Address}: {Reason}")]
    private partial void LogCopyRefused(string address, NodeId node, string reason);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Debug, Message = "Storing a copy of block {Address} on node {Node} failed")]
    private partial void LogCopyFailed(Exception exception, string address, NodeId node);

    [LoggerMessage(EventId = 9105, Level = LogLevel.Warning, Message = "Storing a copy of block {Address} sent by a peer failed")]
    private partial void LogStoreFailed(Exception exception, string address);

    [LoggerMessage(EventId = 9106, Level = LogLevel.Debug, Message = "Anti-entropy could not copy block {Address} to node {Node}: {Reason}")]
    private partial void LogRepairFailed(string address, NodeId node, string reason);

    [LoggerMessage(EventId = 9107, Level = LogLevel.Warning, Message = "An anti-entropy pass failed; the next one retries")]
    private partial void LogPassFailed(Exception exception);

    [LoggerMessage(EventId = 9108, Level = LogLevel.Warning, Message = "A fragment of block {Address} (on node {Node}) fails its check ({Reason}); it is not used")]
    private partial void LogBadFragment(string address, NodeId node, string reason);

    [LoggerMessage(EventId = 9109, Level = LogLevel.Information, Message = "Block {Address} is kept as whole copies instead of {Scheme} fragments: {Reason}")]
    private partial void LogFragmentsFellBack(string address, string scheme, string reason);

    [LoggerMessage(EventId = 9110, Level = LogLevel.Error, Message = "Block {Address} has fragments missing and fewer than {Needed} distinct ones left anywhere: it cannot be rebuilt")]
    private partial void LogUnrecoverable(string address, int needed);

    [LoggerMessage(EventId = 9111, Level = LogLevel.Debug, Message = "Anti-entropy could not repair fragment {Index} of block {Address} on node {Node}: {Reason}")]
    private partial void LogFragmentRepairFailed(string address, int index, NodeId node, string reason);

    [LoggerMessage(EventId = 9112, Level = LogLevel.Debug, Message = "Storing fragment {Index} of block {Address} on node {Node} failed")]
    private partial void LogFragmentFailed(Exception exception, string address, int index, NodeId node);
}
