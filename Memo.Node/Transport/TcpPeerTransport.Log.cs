using Microsoft.Extensions.Logging;

namespace Memo.Node.Transport;

public sealed partial class TcpPeerTransport
{
    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Peer link to node {Peer} at {Address} is up ({Wire})")]
    internal static partial void LogLinkUp(ILogger logger, NodeId peer, string address, string wire);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Peer link to node {Peer} at {Address} failed: {Error}; messages to it are dropped until the next attempt in {Backoff}")]
    internal static partial void LogLinkFailed(ILogger logger, NodeId peer, string address, string error, TimeSpan backoff);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Debug, Message = "Peer link to node {Peer} at {Address} failed again ({Failures} in a row): {Error}; next attempt in {Backoff}")]
    internal static partial void LogLinkFailedAgain(ILogger logger, NodeId peer, string address, int failures, string error, TimeSpan backoff);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Information, Message = "Peer link to node {Peer} at {Address} broke: {Error}")]
    internal static partial void LogLinkBroken(ILogger logger, NodeId peer, string address, string error);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Warning, Message = "Dropped {Count} malformed frames from node {Peer}")]
    internal static partial void LogMalformedFrames(ILogger logger, NodeId peer, int count);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Warning, Message = "Reached the limit of {Limit} peers: messages to or from node {Peer} and any other new peer are dropped")]
    private static partial void LogPeerLimit(ILogger logger, int limit, NodeId peer);

    [LoggerMessage(EventId = 4207, Level = LogLevel.Warning, Message = "Closed the peer connection from {Remote}: {Reason}")]
    private static partial void LogConnectionClosed(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 4208, Level = LogLevel.Warning, Message = "Refused a peer connection from {Remote}: {Reason} ({Count} refused so far, logged once per 1,000)")]
    private static partial void LogConnectionRefused(ILogger logger, string remote, string reason, long count);
}
