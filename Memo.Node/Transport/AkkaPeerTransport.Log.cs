using Microsoft.Extensions.Logging;

namespace Memo.Node.Transport;

public sealed partial class AkkaPeerTransport
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Peer link to node {Peer} at {Address} is up (Akka.Remote)")]
    internal static partial void LogLinkUp(ILogger logger, NodeId peer, string address);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Peer link to node {Peer} at {Address} failed: {Error}; messages to it are dropped until the next attempt in {Backoff}")]
    internal static partial void LogLinkFailed(ILogger logger, NodeId peer, string address, string error, TimeSpan backoff);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "Peer link to node {Peer} at {Address} failed again ({Failures} in a row): {Error}; next attempt in {Backoff}")]
    internal static partial void LogLinkFailedAgain(ILogger logger, NodeId peer, string address, int failures, string error, TimeSpan backoff);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Peer link to node {Peer} at {Address} broke: {Error}")]
    internal static partial void LogLinkBroken(ILogger logger, NodeId peer, string address, string error);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "Dropped {Count} malformed frames from node {Peer}")]
    internal static partial void LogMalformedFrames(ILogger logger, NodeId peer, int count);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Warning, Message = "Reached the limit of {Limit} peers: messages to or from node {Peer} and any other new peer are dropped")]
    private static partial void LogPeerLimit(ILogger logger, int limit, NodeId peer);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "Dropped {Count} messages from node {Peer}: the inbound channel is full ({Capacity}); the consumer falls behind (logged at most once a second)")]
    private static partial void LogInboundFull(ILogger logger, int count, NodeId peer, int capacity);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning, Message = "Dropped a peer batch from {Sender}: format {Format}, from node {From}")]
    internal static partial void LogBatchRefused(ILogger logger, string sender, uint format, NodeId from);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Warning, Message = "Dropped a peer batch from {Sender} naming node {From}, whose member is at {Expected} ({Count} dropped so far): a process may not speak for another node")]
    internal static partial void LogMisattributedBatch(ILogger logger, string sender, NodeId from, string expected, long count);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Warning, Message = "Dropped a peer batch from {Sender} as node {From} without the link key this node gave that address ({Count} dropped so far): a process may be claiming the address of another, or the sender's key predates this node's restart (it is sent its key again)")]
    internal static partial void LogUnauthenticatedBatch(ILogger logger, string sender, NodeId from, long count);

    [LoggerMessage(EventId = 4109, Level = LogLevel.Warning, Message = "Ignored a peer hello from {Sender}: {Error}")]
    internal static partial void LogHelloRefused(ILogger logger, string sender, string error);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Warning, Message = "The actor system at {Remote} associated with this node of network '{Network}': told it this node's network")]
    internal static partial void LogForeignAssociation(ILogger logger, string remote, string network);
}
