using Microsoft.Extensions.Logging;

namespace Memo.Node.Api.Hosting;

public sealed partial class ApiServer
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "gRPC server listening on {Endpoints} ({Transport})")]
    private static partial void LogStarted(ILogger logger, string endpoints, string transport);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "gRPC server stopping; in-flight calls may finish")]
    private static partial void LogStopping(ILogger logger);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "gRPC server stopped")]
    private static partial void LogStopped(ILogger logger);

    // Debug: under a flood this fires for every refused connection.
    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "Refused a connection from {Address}: it already holds {Limit} connections (memo.grpc.max-connections-per-address)")]
    private static partial void LogConnectionRefused(ILogger logger, string address, int limit);
}
