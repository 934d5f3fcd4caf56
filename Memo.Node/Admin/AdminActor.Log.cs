using Microsoft.Extensions.Logging;

namespace Memo.Node.Admin;

public sealed partial class AdminActor
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Admin request {Request} from {Client} failed")]
    private static partial void LogRequestFailed(ILogger logger, string request, string client, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin answer {Reply} is {Bytes} bytes, over the {Limit} bytes one remoting frame carries; answered with an error")]
    private static partial void LogReplyTooLarge(ILogger logger, string reply, int bytes, long limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin request from {Client} refused ({Request}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string client, string request, string reason);
}
