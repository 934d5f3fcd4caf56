using Microsoft.Extensions.Logging;

namespace Memo.Node.Transport;

public sealed partial class GrpcPeerTransport
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Peer link to node {Peer} at {Address} is up")]
    internal static partial void LogLinkUp(ILogger logger, NodeId peer, string address);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Peer link to node {Peer} at {Address} failed: {Error}; messages to it are dropped until the next attempt in {Backoff}")]
    internal static partial void LogLinkFailed(ILogger logger, NodeId peer, string address, string error, TimeSpan backoff);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Peer link to node {Peer} at {Address} failed again ({Failures} in a row): {Error}; next attempt in {Backoff}")]
    internal static partial void LogLinkFailedAgain(ILogger logger, NodeId peer, string address, int failures, string error, TimeSpan backoff);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Peer link to node {Peer} at {Address} broke: {Error}")]
    internal static partial void LogLinkBroken(ILogger logger, NodeId peer, string address, string error);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Accepted a peer link from node {Peer} (announced {Address}, connected from {Remote})")]
    private static partial void LogInboundAccepted(ILogger logger, NodeId peer, string address, string remote);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Refused a peer link from {Remote}: {Error}")]
    private static partial void LogInboundRefused(ILogger logger, string remote, string error);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Dropped {Count} malformed frames from node {Peer}")]
    private static partial void LogMalformedFrames(ILogger logger, NodeId peer, int count);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Reached the limit of {Limit} peers: messages to node {Peer} and any other new peer are dropped")]
    private static partial void LogPeerLimit(ILogger logger, int limit, NodeId peer);
}
