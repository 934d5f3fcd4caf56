using Memo.Protocol.Grpc;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Api.Grpc;

public sealed partial class GrpcRequestDispatcher
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Rejected {HttpMethod} {Path}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string httpMethod, string? path, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "No gRPC method at {Path}")]
    private static partial void LogUnimplemented(ILogger logger, string path);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Ignoring invalid grpc-timeout '{Value}' on {Method}")]
    private static partial void LogInvalidTimeout(ILogger logger, string method, string value);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "{Method} from {Peer} aborted by the client ({Exception})")]
    private static partial void LogClientAborted(ILogger logger, string method, string peer, string exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "{Method} from {Peer} ended with {Status}: {Detail}")]
    private static partial void LogCallFailed(ILogger logger, string method, string peer, GrpcStatusCode status, string detail);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "{Method} from {Peer} ended with {Status}: {Detail}")]
    private static partial void LogCallFailedBadly(ILogger logger, string method, string peer, GrpcStatusCode status, string detail);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "The handler of {Method} (call from {Peer}) threw; answering UNKNOWN")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string method, string peer);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Could not write the status of {Method}; resetting the stream")]
    private static partial void LogStatusWriteFailed(ILogger logger, Exception exception, string method);
}
